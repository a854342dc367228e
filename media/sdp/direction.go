package sdp

import (
	"slices"

	"github.com/pion/sdp/v3"
)

// SetDirection sets the direction attribute of sd's audio stream to d
// (RFC 3264 §5.1), removing any other direction attribute of that stream
// and of the session level. The B2BUA uses it when it offers a stream
// itself, for example to take a transferred party off hold (RFC 3264 §8.4).
func SetDirection(sd *sdp.SessionDescription, d sdp.Direction) error {
	i, err := audioIndex(sd)
	if err != nil {
		return err
	}
	isDir := func(a sdp.Attribute) bool {
		_, err := sdp.NewDirection(a.Key)
		return err == nil && a.Value == ""
	}
	sd.Attributes = slices.DeleteFunc(sd.Attributes, isDir)
	md := sd.MediaDescriptions[i]
	md.Attributes = slices.DeleteFunc(md.Attributes, isDir)
	md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute(d.String()))
	return nil
}

// Mirror is the direction an answer takes for an offered direction
// (RFC 3264 §6.1): sendonly is answered recvonly, recvonly sendonly, and
// sendrecv and inactive stay as they are.
func Mirror(d sdp.Direction) sdp.Direction {
	switch d {
	case sdp.DirectionSendOnly:
		return sdp.DirectionRecvOnly
	case sdp.DirectionRecvOnly:
		return sdp.DirectionSendOnly
	case sdp.DirectionInactive:
		return sdp.DirectionInactive
	}
	return sdp.DirectionSendRecv
}
