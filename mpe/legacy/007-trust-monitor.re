^\d+,host="[^"]*",eventtype="(?<group>trust_monitor)",username="(?<login>[^"]*)",type="(?<vmid>[^"]*)",state="(?<status>[^"]*)",ip="(?<sip>[^"]*)"(?:,port="(?<sport>\d*)")?
