package sdp

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/pion/sdp/v3"
)

// CheckAnswer checks an answer against the offer it answers (RFC 3264 §6):
// the same number of m= lines and an audio stream where the offer's is.
// Formats of the audio stream that the offer did not list are removed from
// the answer (TrimAnswer): phones and PBXs add telephone-event or CN, and a
// B2BUA must not pass on what the other side never offered. It fails with
// ErrNoCommonCodec only when no offered audio codec remains. It returns the
// (trimmed) answer's audio stream.
func CheckAnswer(offer, answer *sdp.SessionDescription) (Stream, error) {
	if len(answer.MediaDescriptions) != len(offer.MediaDescriptions) {
		return Stream{}, fmt.Errorf("%w: %d m= lines for %d offered", ErrAnswerMismatch,
			len(answer.MediaDescriptions), len(offer.MediaDescriptions))
	}
	os, err := AudioStream(offer)
	if err != nil {
		return Stream{}, err
	}
	as, err := AudioStream(answer)
	if err != nil {
		return Stream{}, err
	}
	if as.Index != os.Index {
		return Stream{}, fmt.Errorf("%w: audio answered on m= line %d, offered on %d", ErrAnswerMismatch, as.Index+1, os.Index+1)
	}
	if _, err := TrimAnswer(offer, answer); err != nil {
		return Stream{}, err
	}
	return AudioStream(answer)
}

// TrimAnswer removes from the answer's audio stream the formats the
// offer's audio stream did not list (same name, clock rate and channels;
// the payload type may differ, RFC 3264 §6.1), with their a=rtpmap, a=fmtp
// and a=rtcp-fb lines, and returns them. It fails with ErrNoCommonCodec when
// no offered audio codec (other than telephone-event and CN) would remain,
// and then leaves the answer as it was.
func TrimAnswer(offer, answer *sdp.SessionDescription) ([]Codec, error) {
	os, err := AudioStream(offer)
	if err != nil {
		return nil, err
	}
	i, err := audioIndex(answer)
	if err != nil {
		return nil, err
	}
	md := answer.MediaDescriptions[i]
	got, err := codecs(md)
	if err != nil {
		return nil, err
	}
	var dropped []Codec
	audio := false
	drop := map[int]bool{}
	formats := make([]string, 0, len(got))
	for _, c := range got {
		if c.Name == "" || !slices.ContainsFunc(os.Codecs, c.Matches) {
			dropped = append(dropped, c)
			drop[int(c.PayloadType)] = true
			continue
		}
		audio = audio || !c.IsEvent()
		formats = append(formats, strconv.Itoa(int(c.PayloadType)))
	}
	if !audio {
		return nil, fmt.Errorf("%w: the answer lists no offered codec (%s)", ErrNoCommonCodec, FormatList(got))
	}
	if len(dropped) == 0 {
		return nil, nil
	}
	md.MediaName.Formats = formats
	md.Attributes = slices.DeleteFunc(md.Attributes, func(a sdp.Attribute) bool {
		switch a.Key {
		case "rtpmap", "fmtp", "rtcp-fb":
			pt := payloadAttr(a.Value)
			return pt >= 0 && drop[pt]
		}
		return false
	})
	return dropped, nil
}

// FormatList names codecs for errors and logs: "PCMU/8000 (0), 96".
func FormatList(cs []Codec) string {
	s := ""
	for i, c := range cs {
		if i > 0 {
			s += ", "
		}
		if c.Name == "" {
			s += strconv.Itoa(int(c.PayloadType))
		} else {
			s += fmt.Sprintf("%s (%d)", c, c.PayloadType)
		}
	}
	return s
}

// Marshal is pion's Marshal, for symmetry with Parse.
func Marshal(sd *sdp.SessionDescription) ([]byte, error) { return sd.Marshal() }
