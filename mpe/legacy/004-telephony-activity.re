^\d+,host="[^"]*",eventtype="(?<subject>telephony)",context="(?<vmid>[^"]*)",type="(?<command>[^"]*)",phone="(?<object>[^"]*)",credits="(?<amount>\d*)"
