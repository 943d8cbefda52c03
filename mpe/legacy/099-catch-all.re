^\d+,host="[^"]*", eventtype="(?<vmid>[^"]*)"(?<subject>.*)$
