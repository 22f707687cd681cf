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
	local conn, r = C.open(C.env("MT_CLIENT_NAME", "mx.example.test"),
		C.env("MT_CLIENT_ADDR", "203.0.113.50"))
	if r ~= "continue" then
		mt.disconnect(conn)
		return
	end
	if C.step(conn, "helo", mt.helo(conn, C.env("MT_HELO", "mx.example.test"))) ~= "continue" then
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
	if C.step(conn, "mail", mt.mailfrom(conn, C.env("MT_FROM", "<alice@example.test>"))) ~= "continue" then
		mt.abort(conn)
		C.say("abort")
		mt.disconnect(conn)
		return
	end
	local accepted = 0
	for rcpt in string.gmatch(C.env("MT_RCPTS", "bob@example.test"), "[^,]+") do
		if C.step(conn, "rcpt " .. rcpt, mt.rcptto(conn, "<" .. rcpt .. ">")) == "continue" then
			accepted = accepted + 1
		end
	end
	if accepted == 0 then
		mt.abort(conn)
		C.say("abort")
		mt.disconnect(conn)
		return
	end
	C.content(conn)
	mt.disconnect(conn)
end)
