-- inflight.lua: one message that pauses between its body and EOM, for
-- the SIGTERM-with-messages-in-flight test.
--
--   MT_SOCKET, MT_TAG, MT_QID  as in session.lua
--   MT_MARK    file created once the body has been sent
--   MT_PAUSE   seconds to wait before EOM (default 2)
local C = dofile(os.getenv("MT_DIR") .. "/common.lua")

C.run(function()
	local conn = C.open("mx50.example.test", "203.0.113.50")
	C.step(conn, "helo", mt.helo(conn, "mx50.example.test"))
	local err = mt.macro(conn, SMFIC_MAIL, "i", C.env("MT_QID", "inflight"))
	if err ~= nil then
		error("mt.macro: " .. tostring(err))
	end
	C.step(conn, "mail", mt.mailfrom(conn, "<alice@example.test>"))
	C.step(conn, "rcpt", mt.rcptto(conn, "<bob@example.test>"))
	C.step(conn, "data", mt.data(conn))
	err = mt.header(conn, "Subject", "in flight")
	if err ~= nil then
		error("header: " .. tostring(err))
	end
	C.step(conn, "eoh", mt.eoh(conn))
	err = mt.bodystring(conn, "Still here.\r\n")
	if err ~= nil then
		error("body: " .. tostring(err))
	end
	local mark = C.env("MT_MARK")
	if mark then
		local f = assert(io.open(mark, "w"))
		f:close()
	end
	mt.sleep(tonumber(C.env("MT_PAUSE", "2")))
	C.step(conn, "eom", mt.eom(conn))
	mt.disconnect(conn)
end)
