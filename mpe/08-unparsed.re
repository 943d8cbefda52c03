^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d DUO UNPARSED \|utc=[^|]*\|kind=(?<objecttype>[^|]*)\|file=(?<object>[^|]*)\|line=(?<quantity>\d*)\|reason=(?<reason>[^|]*)\|raw=(?<subject>[^|]*)\|
