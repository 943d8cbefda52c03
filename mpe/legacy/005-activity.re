^\d+,host="[^"]*", eventtype="(?<group>activity)", username="(?<login>[^"]*)", action="(?<vmid>(?<action>[^"]*))", object="(?<object>[^"]*)", result="(?<tag1>(?<result>[^"]*))", ip="(?<sip>[^"]*)"
