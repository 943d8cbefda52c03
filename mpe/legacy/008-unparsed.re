^\d+,host="[^"]*",eventtype="(?<vmid>unparsed)",line="(?<quantity>\d*)",reason="(?<reason>[^"]*)",raw="(?<subject>[^"]*)"
