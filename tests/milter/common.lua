-- common.lua: helpers shared by postern's miltertest scripts.
--
-- Every script is run as "miltertest -s SCRIPT" with its parameters in
-- the environment (MT_SOCKET, MT_TAG, ...). It prints one line per stage,
-- "STAGE REPLY", where REPLY is continue, reject, tempfail, replycode
-- (a reject or tempfail with a custom text), accept or discard, so that
-- tests/run-integration compares transcripts. miltertest exits 1 without
-- saying why on a Lua error: C.run prints the error and exits 2.
local C = {}

function C.env(name, default)
	local v = os.getenv(name)
	if v == nil or v == "" then
		return default
	end
	return v
end

local names = {
	[SMFIR_CONTINUE] = "continue",
	[SMFIR_REJECT] = "reject",
	[SMFIR_TEMPFAIL] = "tempfail",
	[SMFIR_REPLYCODE] = "replycode",
	[SMFIR_ACCEPT] = "accept",
	[SMFIR_DISCARD] = "discard",
}

function C.say(...)
	io.stdout:write(table.concat({ ... }, " "), "\n")
	io.stdout:flush()
end

-- The reply to the last command, by name.
function C.reply(conn)
	local r = mt.getreply(conn)
	return names[r] or ("other(" .. tostring(r) .. ")")
end

-- Report a stage: err is what the mt.* call returned (nil on success).
function C.step(conn, label, err)
	if err ~= nil then
		error(label .. ": " .. tostring(err))
	end
	local r = C.reply(conn)
	C.say(label, r)
	return r
end

function C.connect()
	mt.set_timeout(tonumber(C.env("MT_TIMEOUT", "20")))
	local sock = C.env("MT_SOCKET")
	if sock == nil then
		error("MT_SOCKET is not set")
	end
	local conn = mt.connect(sock, 100, 0.05)
	if conn == nil then
		error("mt.connect(" .. sock .. ") failed")
	end
	return conn
end

-- Connect, tag the connection ({daemon_name} is stored in the
-- connections row) and send the client. Returns conn and the reply.
function C.open(name, addr, tag)
	local conn = C.connect()
	local err = mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", tag or C.env("MT_TAG", "untagged"))
	if err ~= nil then
		error("mt.macro: " .. tostring(err))
	end
	local r = C.step(conn, "connect", mt.conninfo(conn, name, addr))
	return conn, r
end

-- A stage the filter opted out of (SMFIP_NO*: OpenDKIM as a peer skips
-- HELO) is not sent; it is printed as "STAGE skipped" and counts as
-- continue. opt may be nil (a stage that cannot be skipped).
function C.opted(conn, opt)
	return opt ~= nil and mt.test_option(conn, opt)
end

-- C.step for fn(conn, ...), unless the filter opted out of the stage.
function C.stage(conn, label, opt, fn, ...)
	if C.opted(conn, opt) then
		C.say(label, "skipped")
		return "continue"
	end
	return C.step(conn, label, fn(conn, ...))
end

-- open() with MT_CLIENT_NAME and MT_CLIENT_ADDR, then HELO MT_HELO.
-- Returns conn, or nil (disconnected) when either is refused.
function C.greet()
	local conn, r = C.open(C.env("MT_CLIENT_NAME", "mx.example.test"),
		C.env("MT_CLIENT_ADDR", "203.0.113.50"))
	if r ~= "continue" or
	    C.stage(conn, "helo", SMFIP_NOHELO, mt.helo, C.env("MT_HELO", "mx.example.test")) ~= "continue" then
		mt.disconnect(conn)
		return nil
	end
	return conn
end

-- The macros for MAIL as a flat name, value list: the queue id MT_QID
-- as "i" and, with MT_AUTH, {auth_authen} and {auth_type}.
function C.mail_macros()
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
	return macros
end

-- MAIL FROM MT_FROM (default from, or <alice@example.test>), with the
-- macros given (a flat name, value list) for that stage, then RCPT TO
-- each of MT_RCPTS. Like an MTA it aborts the message after a refused
-- MAIL or when every recipient was refused, and disconnects. Returns
-- true when the message may go on to DATA.
function C.envelope(conn, macros, from)
	if macros ~= nil and #macros > 0 then
		local err = mt.macro(conn, SMFIC_MAIL, table.unpack(macros))
		if err ~= nil then
			error("mt.macro: " .. tostring(err))
		end
	end
	local accepted = 0
	if C.stage(conn, "mail", SMFIP_NOMAIL, mt.mailfrom,
		    C.env("MT_FROM", from or "<alice@example.test>")) == "continue" then
		for rcpt in string.gmatch(C.env("MT_RCPTS", "bob@example.test"), "[^,]+") do
			if C.stage(conn, "rcpt " .. rcpt, SMFIP_NORCPT, mt.rcptto, "<" .. rcpt .. ">") == "continue" then
				accepted = accepted + 1
			end
		end
	end
	if accepted == 0 then
		mt.abort(conn)
		C.say("abort")
		mt.disconnect(conn)
		return false
	end
	return true
end

function C.yesno(b)
	return b and "yes" or "no"
end

-- Counts the header fields NAME added or inserted at EOM, prints
-- "TAG-count N" and returns N.
function C.count_headers(conn, name, tag)
	local n = 0
	while mt.getheader(conn, name, n) ~= nil do
		n = n + 1
	end
	C.say(tag .. "-count", tostring(n))
	return n
end

-- Headers and body of a small message, then EOM; returns the EOM reply.
function C.content(conn, label)
	label = label or ""
	if C.step(conn, "data" .. label, mt.data(conn)) ~= "continue" then
		return "refused"
	end
	for _, h in ipairs({ { "From", "<alice@example.test>" }, { "To", "<bob@example.test>" },
		{ "Subject", "postern integration test" } }) do
		local err = mt.header(conn, h[1], h[2])
		if err ~= nil then
			error("header: " .. tostring(err))
		end
	end
	C.step(conn, "eoh" .. label, mt.eoh(conn))
	-- A filter with no use for the body (no DKIM work) asks not to get it.
	if not C.opted(conn, SMFIP_NOBODY) then
		local err = mt.bodystring(conn, "Hello.\r\n")
		if err ~= nil then
			error("body: " .. tostring(err))
		end
	end
	return C.step(conn, "eom" .. label, mt.eom(conn))
end

function C.run(body)
	local ok, err = pcall(body)
	if not ok then
		C.say("LUA-ERROR " .. tostring(err))
		os.exit(2)
	end
end

-- A header value with its folding undone (each line break and the
-- white space after it become one space).
function C.unfold(v)
	return (v:gsub("\r?\n[ \t]*", " "))
end

-- Greet, send the envelope and the message: the connection when the
-- message got through to its end (to look at its header changes), else
-- nil (the session is over).
function C.whole_message()
	local conn = C.greet()
	if conn == nil then
		return nil
	end
	if not C.envelope(conn, C.mail_macros()) then
		return nil
	end
	if C.content(conn) ~= "continue" then
		mt.disconnect(conn)
		return nil
	end
	return conn
end

return C
