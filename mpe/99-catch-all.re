^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d DUO (?<vmid>\S+) (?<subject>.*)$
