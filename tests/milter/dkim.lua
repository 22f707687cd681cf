-- dkim.lua: one SMTP session that sends a whole message read from a file,
-- for the DKIM scenarios (tests/run-dkim-scenarios.sh), then the headers
-- postern wrote at EOM.
--
--   MT_SOCKET, MT_TAG, MT_QID, MT_CLIENT_NAME, MT_CLIENT_ADDR, MT_HELO,
--   MT_FROM, MT_RCPTS, MT_AUTH   as in session.lua
--   MT_MSG     the message file (LF or CRLF line endings): its header
--              fields are sent one by one, with the white space after the
--              colon removed and folded lines joined by MT_FOLD; the body
--              with CRLF line endings, in chunks, as an MTA does
--   MT_FOLD    "lf" (default, as Postfix passes folded values) or "crlf"
--
-- Prints the replies as session.lua does ("connect continue" ...
-- "eom continue", no line per header field); when the message reached
-- EOM, then the header fields added or inserted by the filter, values
-- escaped (\r \n \t \\):
--   ar-count N             Authentication-Results fields
--   ar-value I TEXT        the I-th (from 0)
--   ar-insert-0 I yes|no   it was inserted (smfi_insheader) at index 0
--   sig-count N            DKIM-Signature fields
--   sig-value I TEXT
--   sig-insert-0 I yes|no
-- The header fields may be longer than miltertest's 1 KB buffer allows:
-- such messages go through rawmilter (tests/lib.sh) instead.
local C = dofile(os.getenv("MT_DIR") .. "/common.lua")

local function escape(v)
	return (v:gsub("\\", "\\\\"):gsub("\r", "\\r"):gsub("\n", "\\n"):gsub("\t", "\\t"))
end

local function yesno(b)
	return b and "yes" or "no"
end

-- The header fields ({name, value}) and the body (CRLF) of a message.
local function parse(path)
	local f = io.open(path, "rb")
	if f == nil then
		error("cannot open MT_MSG " .. tostring(path))
	end
	local text = f:read("a"):gsub("\r\n", "\n")
	f:close()
	local head, body = text:match("^(.-)\n\n(.*)$")
	if head == nil then
		head, body = (text:gsub("\n$", "")), ""
	end
	if head == "" then
		error("MT_MSG " .. path .. " has no header")
	end
	local sep = C.env("MT_FOLD", "lf") == "crlf" and "\r\n" or "\n"
	local fields = {}
	for line in (head .. "\n"):gmatch("(.-)\n") do
		if line:match("^[ \t]") and #fields > 0 then
			local last = fields[#fields]
			last[2] = last[2] .. sep .. line
		else
			local name, value = line:match("^([^:]+):[ \t]*(.*)$")
			if name == nil then
				error("not a header field: " .. line)
			end
			table.insert(fields, { name, value })
		end
	end
	return fields, (body:gsub("\n", "\r\n"))
end

local function report(conn, name, tag)
	local n = 0
	while mt.getheader(conn, name, n) ~= nil do
		n = n + 1
	end
	C.say(tag .. "-count", tostring(n))
	for i = 0, n - 1 do
		local v = mt.getheader(conn, name, i)
		C.say(tag .. "-value", tostring(i), escape(v))
		C.say(tag .. "-insert-0", tostring(i), yesno(mt.eom_check(conn, MT_HDRINSERT, name, v, 0)))
	end
end

-- A stage the filter opted out of (SMFIP_NO*: OpenDKIM as a peer skips
-- HELO) is not sent; it is printed as "STAGE skipped".
local function opted(conn, opt)
	return opt ~= nil and mt.test_option(conn, opt)
end

local function stage(conn, label, opt, fn, ...)
	if opted(conn, opt) then
		C.say(label, "skipped")
		return "continue"
	end
	return C.step(conn, label, fn(conn, ...))
end

C.run(function()
	local fields, body = parse(C.env("MT_MSG"))
	local conn, r = C.open(C.env("MT_CLIENT_NAME", "mx.example.test"),
		C.env("MT_CLIENT_ADDR", "203.0.113.50"))
	if r ~= "continue" or
	    stage(conn, "helo", SMFIP_NOHELO, mt.helo, C.env("MT_HELO", "mx.example.test")) ~= "continue" then
		mt.disconnect(conn)
		return
	end
	local macros = {}
	if C.env("MT_QID") then
		table.insert(macros, "i")
		table.insert(macros, C.env("MT_QID"))
	end
	if C.env("MT_AUTH") then
		table.insert(macros, "{auth_authen}")
		table.insert(macros, C.env("MT_AUTH"))
		table.insert(macros, "{auth_type}")
		table.insert(macros, "PLAIN")
	end
	if #macros > 0 then
		local err = mt.macro(conn, SMFIC_MAIL, table.unpack(macros))
		if err ~= nil then
			error("mt.macro: " .. tostring(err))
		end
	end
	local accepted = 0
	if stage(conn, "mail", SMFIP_NOMAIL, mt.mailfrom, C.env("MT_FROM", "<alice@dkim.test>")) == "continue" then
		for rcpt in string.gmatch(C.env("MT_RCPTS", "bob@example.test"), "[^,]+") do
			if stage(conn, "rcpt " .. rcpt, SMFIP_NORCPT, mt.rcptto, "<" .. rcpt .. ">") == "continue" then
				accepted = accepted + 1
			end
		end
	end
	if accepted == 0 then
		mt.abort(conn)
		C.say("abort")
		mt.disconnect(conn)
		return
	end
	if stage(conn, "data", SMFIP_NODATA, mt.data) ~= "continue" then
		mt.disconnect(conn)
		return
	end
	if not opted(conn, SMFIP_NOHDRS) then
		for _, h in ipairs(fields) do
			local err = mt.header(conn, h[1], h[2])
			if err ~= nil then
				error("header " .. h[1] .. ": " .. tostring(err))
			end
			local hr = C.reply(conn)
			if hr ~= "continue" then
				C.say("header " .. h[1], hr)
				mt.disconnect(conn)
				return
			end
		end
	end
	if stage(conn, "eoh", SMFIP_NOEOH, mt.eoh) ~= "continue" then
		mt.disconnect(conn)
		return
	end
	local pos = 1
	while pos <= #body and not opted(conn, SMFIP_NOBODY) do
		local err = mt.bodystring(conn, body:sub(pos, pos + 32767))
		if err ~= nil then
			error("body: " .. tostring(err))
		end
		pos = pos + 32768
	end
	-- OpenDKIM answers accept at EOM, after its changes.
	local er = C.step(conn, "eom", mt.eom(conn))
	if er ~= "continue" and er ~= "accept" then
		mt.disconnect(conn)
		return
	end
	report(conn, "Authentication-Results", "ar")
	report(conn, "DKIM-Signature", "sig")
	mt.disconnect(conn)
end)
