^(?:\d+,host="[^"]*",eventtype="|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d DUO )(?<vmid>[^" ]*)[" ](?<subject>.*)$
