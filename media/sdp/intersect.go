package sdp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Intersect keeps, in the audio stream of sd, the codecs that match one of
// supported (same name, clock rate and channels; RFC 3264 §6.1), in the order
// of sd, with sd's payload types. The a=rtpmap, a=fmtp and a=rtcp-fb lines of
// the codecs removed go too. telephone-event (RFC 4733) and CN stay when
// supported lists them. It returns the codecs kept, or ErrNoCommonCodec when
// none of them carries audio (only unknown codecs offered).
func Intersect(sd *sdp.SessionDescription, supported []Codec) ([]Codec, error) {
	i, err := audioIndex(sd)
	if err != nil {
		return nil, err
	}
	md := sd.MediaDescriptions[i]
	offered, err := codecs(md)
	if err != nil {
		return nil, err
	}
	var kept []Codec
	audio := false
	for _, c := range offered {
		if c.Name == "" {
			continue
		}
		if slices.ContainsFunc(supported, c.Matches) {
			kept = append(kept, c)
			audio = audio || !c.IsEvent()
		}
	}
	if !audio {
		names := make([]string, 0, len(offered))
		for _, c := range offered {
			if c.Name == "" {
				names = append(names, strconv.Itoa(int(c.PayloadType)))
			} else {
				names = append(names, c.String())
			}
		}
		return nil, fmt.Errorf("%w: offered %s", ErrNoCommonCodec, strings.Join(names, ", "))
	}
	keepPT := map[int]bool{}
	formats := make([]string, 0, len(kept))
	for _, c := range kept {
		keepPT[int(c.PayloadType)] = true
		formats = append(formats, strconv.Itoa(int(c.PayloadType)))
	}
	md.MediaName.Formats = formats
	md.Attributes = slices.DeleteFunc(md.Attributes, func(a sdp.Attribute) bool {
		switch a.Key {
		case "rtpmap", "fmtp", "rtcp-fb":
			pt := payloadAttr(a.Value)
			return pt >= 0 && !keepPT[pt]
		}
		return false
	})
	return kept, nil
}
