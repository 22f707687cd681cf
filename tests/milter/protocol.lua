-- protocol.lua: the protocol options the filter negotiated, one line:
-- "protocol NAME NAME ...", in the order below, for the options set.
--
--   MT_SOCKET, MT_TAG  as in session.lua
local C = dofile(os.getenv("MT_DIR") .. "/common.lua")

local options = {
	{ "NR_CONN", SMFIP_NR_CONN }, { "NR_HELO", SMFIP_NR_HELO },
	{ "NR_MAIL", SMFIP_NR_MAIL }, { "NR_RCPT", SMFIP_NR_RCPT },
	{ "NR_DATA", SMFIP_NR_DATA }, { "NR_HDR", SMFIP_NR_HDR },
	{ "NR_EOH", SMFIP_NR_EOH }, { "NR_BODY", SMFIP_NR_BODY },
	{ "NR_UNKN", SMFIP_NR_UNKN }, { "NOBODY", SMFIP_NOBODY },
	{ "NOHDRS", SMFIP_NOHDRS }, { "NOUNKNOWN", SMFIP_NOUNKNOWN },
}

C.run(function()
	local conn = C.open("mx.example.test", "203.0.113.50")
	local set = {}
	for _, o in ipairs(options) do
		if o[2] == nil then
			error("miltertest does not define SMFIP_" .. o[1])
		end
		if mt.test_option(conn, o[2]) then
			set[#set + 1] = o[1]
		end
	end
	C.say("protocol", table.concat(set, " "))
	mt.disconnect(conn)
end)
