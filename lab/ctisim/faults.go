package ctisim

// BadHeaderFrame is a frame whose format indicator is not 0x0000: the
// stream can't be resynchronised, so the application must drop the link.
var BadHeaderFrame = []byte{0xff, 0xff, 0, 12, '9', '9', '9', '9', '<', 'x', '/', '>'}

// billionLaughsDTD declares entities that expand exponentially; &lol9;
// is about 10^5 "lol"s.
const billionLaughsDTD = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">` +
	`<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
	`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">` +
	`<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">` +
	`<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>`

// BillionLaughs returns an XML document of root element body (which uses
// the entity &lol9;) behind a DOCTYPE whose entities expand exponentially:
// the application must refuse it without expanding it.
func BillionLaughs(body string) string { return billionLaughsDTD + body }
