-- session.lua: one SMTP session, as the environment describes it.
--
--   MT_SOCKET       inet:PORT@127.0.0.1
--   MT_TAG          {daemon_name} of the connection (finds its rows)
--   MT_CLIENT_NAME  client host name (default mx.example.test)
--   MT_CLIENT_ADDR  client address (default 203.0.113.50)
--   MT_HELO         HELO name (default mx.example.test)
--   MT_FROM         MAIL FROM argument, brackets included (default <alice@example.test>)
--   MT_RCPTS        recipients, comma separated (default bob@example.test)
--   MT_QID          queue id, macro "i" at MAIL (optional)
--   MT_AUTH         {auth_authen} at MAIL (optional)
--
-- Like an MTA it stops at a refused connect or HELO, aborts the message
-- after a refused MAIL or when every recipient was refused, and sends
-- the message otherwise.
local C = dofile(os.getenv("MT_DIR") .. "/common.lua")

C.run(function()
	local conn = C.greet()
	if conn == nil then
		return
	end
	if not C.envelope(conn, C.mail_macros()) then
		return
	end
	C.content(conn)
	mt.disconnect(conn)
end)
