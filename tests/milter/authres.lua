-- authres.lua: one message, to check the Authentication-Results header
-- that postern writes at EOM and the removal of forged ones.
--
--   MT_SOCKET, MT_TAG, MT_QID, MT_CLIENT_NAME, MT_CLIENT_ADDR, MT_HELO,
--   MT_FROM    as in session.lua (one recipient, bob@example.test)
--   MT_INCOMING  "yes": the message carries three Authentication-Results
--              headers, among others:
--                1 "mx.postern.test; spf=pass ..."            ours (forged)
--                2 "mx.postern.test.example; ..."             someone else's
--                3 "MX.Postern.Test; dkim=pass ..."           ours again
--              so postern (authserv_id mx.postern.test) must delete 3 and 1.
--
-- Prints the replies ("connect continue" ... "eom continue"), then:
--   ar-count N             Authentication-Results headers added or inserted
--   ar-value TEXT          the first one, "\n" and "\t" written as \n and \t
--   ar-insert-0 yes|no     it was inserted (smfi_insheader) at index 0
--   ar-delete I yes|no     for I = 1..4: the I-th Authentication-Results was
--                          deleted (a change to an empty value)
local C = dofile(os.getenv("MT_DIR") .. "/common.lua")

local AR = "Authentication-Results"

C.run(function()
	local conn = C.greet()
	if conn == nil then
		return
	end
	local err = mt.macro(conn, SMFIC_MAIL, "i", C.env("MT_QID", "authres"))
	if err ~= nil then
		error("mt.macro: " .. tostring(err))
	end
	if C.step(conn, "mail", mt.mailfrom(conn, C.env("MT_FROM", "<alice@example.test>"))) ~= "continue" then
		mt.disconnect(conn)
		return
	end
	if C.step(conn, "rcpt", mt.rcptto(conn, "<bob@example.test>")) ~= "continue" then
		mt.disconnect(conn)
		return
	end
	C.step(conn, "data", mt.data(conn))
	local headers = { { "From", "<alice@example.test>" } }
	if C.env("MT_INCOMING", "no") == "yes" then
		headers = {
			{ AR, "mx.postern.test; spf=pass smtp.mailfrom=example.test" },
			{ "From", "<alice@example.test>" },
			{ AR, "mx.postern.test.example; iprev=pass policy.iprev=203.0.113.1" },
			{ "To", "<bob@example.test>" },
			{ AR, "MX.Postern.Test;\r\n\tdkim=pass header.d=example.test" },
		}
	end
	table.insert(headers, { "Subject", "authentication results" })
	for _, h in ipairs(headers) do
		err = mt.header(conn, h[1], h[2])
		if err ~= nil then
			error("header: " .. tostring(err))
		end
	end
	C.step(conn, "eoh", mt.eoh(conn))
	err = mt.bodystring(conn, "Hello.\r\n")
	if err ~= nil then
		error("body: " .. tostring(err))
	end
	C.step(conn, "eom", mt.eom(conn))

	C.count_headers(conn, AR, "ar")
	local v = mt.getheader(conn, AR, 0)
	if v == nil then
		C.say("ar-value (none)")
		C.say("ar-insert-0 no")
	else
		C.say("ar-value " .. v:gsub("\n", "\\n"):gsub("\t", "\\t"):gsub("\r", "\\r"))
		C.say("ar-insert-0", C.yesno(mt.eom_check(conn, MT_HDRINSERT, AR, v, 0)))
	end
	for i = 1, 4 do
		C.say("ar-delete", tostring(i), C.yesno(mt.eom_check(conn, MT_HDRDELETE, AR, i)))
	end
	mt.disconnect(conn)
end)
