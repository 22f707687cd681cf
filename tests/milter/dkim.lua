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
	for i = 0, C.count_headers(conn, name, tag) - 1 do
		local v = mt.getheader(conn, name, i)
		C.say(tag .. "-value", tostring(i), escape(v))
		C.say(tag .. "-insert-0", tostring(i), C.yesno(mt.eom_check(conn, MT_HDRINSERT, name, v, 0)))
	end
end

-- DATA, the header fields, EOH, the body in chunks and EOM, each unless
-- the filter opted out of it (C.stage). Returns true when EOM was
-- accepted: OpenDKIM answers accept at EOM, after its changes.
local function send(conn, fields, body)
	if C.stage(conn, "data", SMFIP_NODATA, mt.data) ~= "continue" then
		return false
	end
	if not C.opted(conn, SMFIP_NOHDRS) then
		for _, h in ipairs(fields) do
			local err = mt.header(conn, h[1], h[2])
			if err ~= nil then
				error("header " .. h[1] .. ": " .. tostring(err))
			end
			local hr = C.reply(conn)
			if hr ~= "continue" then
				C.say("header " .. h[1], hr)
				return false
			end
		end
	end
	if C.stage(conn, "eoh", SMFIP_NOEOH, mt.eoh) ~= "continue" then
		return false
	end
	local pos = 1
	while pos <= #body and not C.opted(conn, SMFIP_NOBODY) do
		local err = mt.bodystring(conn, body:sub(pos, pos + 32767))
		if err ~= nil then
			error("body: " .. tostring(err))
		end
		pos = pos + 32768
	end
	local er = C.step(conn, "eom", mt.eom(conn))
	return er == "continue" or er == "accept"
end

C.run(function()
	local fields, body = parse(C.env("MT_MSG"))
	local conn = C.greet()
	if conn == nil or not C.envelope(conn, C.mail_macros(), "<alice@dkim.test>") then
		return
	end
	if send(conn, fields, body) then
		report(conn, "Authentication-Results", "ar")
		report(conn, "DKIM-Signature", "sig")
	end
	mt.disconnect(conn)
end)
