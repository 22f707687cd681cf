-- One SMTP conversation as an MTA would relay it to postern.
-- Parameters come from the environment: CLIENT, NAME, HELO, FROM, RCPT, AUTH.
local function env(k, d) local v = os.getenv(k); if v == nil or v == "" then return d end; return v end
local what = { [SMFIR_CONTINUE] = "accepted", [SMFIR_ACCEPT] = "accepted",
	[SMFIR_REJECT] = "rejected", [SMFIR_TEMPFAIL] = "deferred",
	[SMFIR_REPLYCODE] = "refused with a reply code" }
local function step(conn, name, rc)
	local r = mt.getreply(conn)
	if r ~= SMFIR_CONTINUE and r ~= SMFIR_ACCEPT then
		print(string.format("  %-6s %s", name, what[r] or ("reply " .. tostring(r))))
		return false
	end
	return true
end
local ok, err = pcall(function()
	local conn = mt.connect(env("SOCKET", "inet:8895@127.0.0.1"), 10, 0.2)
	if conn == nil then error("cannot connect to postern") end
	if not step(conn, "connect", mt.conninfo(conn, env("NAME", "unknown"), env("CLIENT", "198.51.100.20"))) then return end
	if not step(conn, "HELO", mt.helo(conn, env("HELO", "mx.example.org"))) then return end
	-- One call per stage: a later mt.macro for the same stage replaces it.
	if env("AUTH", "") ~= "" then
		mt.macro(conn, SMFIC_MAIL, "i", env("QID", "DEMO1"), "{auth_authen}", env("AUTH", ""))
	else
		mt.macro(conn, SMFIC_MAIL, "i", env("QID", "DEMO1"))
	end
	if not step(conn, "MAIL", mt.mailfrom(conn, "<" .. env("FROM", "alice@example.org") .. ">")) then return end
	if not step(conn, "RCPT", mt.rcptto(conn, "<" .. env("RCPT", "bob@example.net") .. ">")) then return end
	if not step(conn, "DATA", mt.data(conn)) then return end
	mt.header(conn, "From", env("FROM", "alice@example.org"))
	mt.header(conn, "Subject", "postern demo")
	mt.eoh(conn)
	mt.bodystring(conn, "Hello from the postern demo.\r\n")
	if not step(conn, "end", mt.eom(conn)) then return end
	print("  message accepted")
	mt.disconnect(conn)
end)
if not ok then print("  error: " .. tostring(err)); os.exit(1) end
