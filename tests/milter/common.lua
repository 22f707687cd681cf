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

-- open() with MT_CLIENT_NAME and MT_CLIENT_ADDR, then HELO MT_HELO.
-- Returns conn, or nil (disconnected) when either is refused.
function C.greet()
	local conn, r = C.open(C.env("MT_CLIENT_NAME", "mx.example.test"),
		C.env("MT_CLIENT_ADDR", "203.0.113.50"))
	if r ~= "continue" or
	    C.step(conn, "helo", mt.helo(conn, C.env("MT_HELO", "mx.example.test"))) ~= "continue" then
		mt.disconnect(conn)
		return nil
	end
	return conn
end

-- MAIL FROM MT_FROM, with the macros given (a flat name, value list) for
-- that stage, then RCPT TO each of MT_RCPTS. Like an MTA it aborts the
-- message after a refused MAIL or when every recipient was refused, and
-- disconnects. Returns true when the message may go on to DATA.
function C.envelope(conn, macros)
	if macros ~= nil and #macros > 0 then
		local err = mt.macro(conn, SMFIC_MAIL, table.unpack(macros))
		if err ~= nil then
			error("mt.macro: " .. tostring(err))
		end
	end
	local accepted = 0
	if C.step(conn, "mail", mt.mailfrom(conn, C.env("MT_FROM", "<alice@example.test>"))) == "continue" then
		for rcpt in string.gmatch(C.env("MT_RCPTS", "bob@example.test"), "[^,]+") do
			if C.step(conn, "rcpt " .. rcpt, mt.rcptto(conn, "<" .. rcpt .. ">")) == "continue" then
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
	local err = mt.bodystring(conn, "Hello.\r\n")
	if err ~= nil then
		error("body: " .. tostring(err))
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

return C
