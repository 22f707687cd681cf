-- spf.lua: one SMTP session for the SPF scenarios, then the SPF headers
-- postern wrote at EOM.
--
--   MT_SOCKET, MT_TAG, MT_QID, MT_CLIENT_NAME, MT_CLIENT_ADDR, MT_HELO,
--   MT_FROM, MT_RCPTS, MT_AUTH   as in session.lua
--
-- Prints the replies as session.lua does ("connect continue" ...
-- "eom continue"); when the message reached EOM, then:
--   ar-count N          Authentication-Results headers added or inserted
--   ar-value TEXT       the first one, unfolded (each line break and the
--                       white space after it become one space)
--   ar-insert-0 yes|no  it was inserted (smfi_insheader) at index 0
--   rs-count N          Received-SPF headers added or inserted
--   rs-value I TEXT     the I-th (from 0), unfolded
--   rs-insert-0 I yes|no  it was inserted at index 0
local C = dofile(os.getenv("MT_DIR") .. "/common.lua")

local AR = "Authentication-Results"
local RS = "Received-SPF"

C.run(function()
	local conn = C.whole_message()
	if conn == nil then
		return
	end

	if C.count_headers(conn, AR, "ar") > 0 then
		local v = mt.getheader(conn, AR, 0)
		C.say("ar-value " .. C.unfold(v))
		C.say("ar-insert-0", C.yesno(mt.eom_check(conn, MT_HDRINSERT, AR, v, 0)))
	end
	for i = 0, C.count_headers(conn, RS, "rs") - 1 do
		local v = mt.getheader(conn, RS, i)
		C.say("rs-value", tostring(i), C.unfold(v))
		C.say("rs-insert-0", tostring(i), C.yesno(mt.eom_check(conn, MT_HDRINSERT, RS, v, 0)))
	end
	mt.disconnect(conn)
end)
