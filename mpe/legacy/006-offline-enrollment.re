^\d+,host="[^"]*",eventtype="(?<group>offline_enrollment)",username="(?<login>[^"]*)",action="(?<vmid>(?<action>[^"]*))",object="(?<object>[^"]*)",description="(?<subject>[^\n]*)"$
