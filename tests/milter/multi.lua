-- multi.lua: several messages on one connection, aborted messages and
-- connections dropped in the middle of a message.
--
--   MT_SOCKET, MT_TAG  as in session.lua; the client is 203.0.113.50
--   MT_QID             prefix of the queue ids: message n gets MT_QID-n
--   MT_MODE            three        three messages, each to EOM
--                      abort        a message ended by mt.abort after its
--                                   headers, then a complete one
--                      drop-quit    a message, then QUIT after its headers
--                      drop-close   a message, then the socket is closed
--                                   after its headers (no QUIT)
local C = dofile(os.getenv("MT_DIR") .. "/common.lua")

local function envelope(conn, n)
	local err = mt.macro(conn, SMFIC_MAIL, "i", C.env("MT_QID", "Q") .. "-" .. n)
	if err ~= nil then
		error("mt.macro: " .. tostring(err))
	end
	C.step(conn, "mail" .. n, mt.mailfrom(conn, "<sender" .. n .. "@example.test>"))
	C.step(conn, "rcpt" .. n, mt.rcptto(conn, "<rcpt" .. n .. "@example.test>"))
end

local function headers_only(conn, n)
	C.step(conn, "data" .. n, mt.data(conn))
	local err = mt.header(conn, "Subject", "message " .. n)
	if err ~= nil then
		error("header: " .. tostring(err))
	end
	C.say("header" .. n, C.reply(conn))
end

C.run(function()
	local mode = C.env("MT_MODE", "three")
	local conn, r = C.open("mx50.example.test", "203.0.113.50")
	C.step(conn, "helo", mt.helo(conn, "mx50.example.test"))
	if mode == "three" then
		for n = 1, 3 do
			envelope(conn, n)
			C.content(conn, n)
		end
		mt.disconnect(conn)
	elseif mode == "abort" then
		envelope(conn, 1)
		headers_only(conn, 1)
		local err = mt.abort(conn)
		if err ~= nil then
			error("abort: " .. tostring(err))
		end
		C.say("abort1")
		envelope(conn, 2)
		C.content(conn, 2)
		mt.disconnect(conn)
	elseif mode == "drop-quit" then
		envelope(conn, 1)
		headers_only(conn, 1)
		mt.disconnect(conn)
		C.say("quit")
	elseif mode == "drop-close" then
		envelope(conn, 1)
		headers_only(conn, 1)
		mt.disconnect(conn, false)
		C.say("close")
	else
		error("unknown MT_MODE " .. mode)
	end
end)
