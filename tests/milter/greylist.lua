-- greylist.lua: one SMTP session for the greylisting scenarios
-- (tests/run-greylist-scenarios.sh), then the X-Greylist header postern
-- wrote at EOM.
--
--   MT_SOCKET, MT_TAG, MT_QID, MT_CLIENT_NAME, MT_CLIENT_ADDR, MT_HELO,
--   MT_FROM, MT_RCPTS, MT_AUTH   as in session.lua
--
-- Prints the replies as session.lua does ("connect continue" ... "data
-- replycode" or "eom continue"); when the message was accepted at EOM,
-- then:
--   xg-count N          X-Greylist headers added or inserted
--   xg-value TEXT       the first one, unfolded (each line break and the
--                       white space after it become one space)
--   xg-insert-0 yes|no  it was inserted (smfi_insheader) at index 0
local C = dofile(os.getenv("MT_DIR") .. "/common.lua")

local XG = "X-Greylist"

C.run(function()
	local conn = C.whole_message()
	if conn == nil then
		return
	end
	if C.count_headers(conn, XG, "xg") > 0 then
		local v = mt.getheader(conn, XG, 0)
		C.say("xg-value " .. C.unfold(v))
		C.say("xg-insert-0", C.yesno(mt.eom_check(conn, MT_HDRINSERT, XG, v, 0)))
	end
	mt.disconnect(conn)
end)
