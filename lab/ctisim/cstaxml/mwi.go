package cstaxml

// GetMessageWaitingIndicator (device-feature.xsd ~, ECMA-269 §22.1 Get
// Message Waiting Indicator): the state of a device's message-waiting
// lamp, asked for when an application starts to monitor it.
type GetMessageWaitingIndicator struct {
	Device     DeviceID `xml:"device"`
	Extensions *Raw     `xml:"extensions,omitempty"`
}

// GetMessageWaitingIndicatorResponse (device-feature.xsd ~): whether the
// lamp is on (deviceForMessage, optional, is not used).
type GetMessageWaitingIndicatorResponse struct {
	MessageWaitingOn bool `xml:"messageWaitingOn"`
	Extensions       *Raw `xml:"extensions,omitempty"`
}
