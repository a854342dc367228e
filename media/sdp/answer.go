package sdp

import (
	"fmt"
	"slices"

	"github.com/pion/sdp/v3"
)

// CheckAnswer checks an answer against the offer it answers (RFC 3264 §6):
// the same number of m= lines, an audio stream where the offer's is, and
// only codecs the offer listed. It returns the answer's audio stream.
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
	for _, c := range as.Codecs {
		if !slices.ContainsFunc(os.Codecs, c.Matches) {
			return Stream{}, fmt.Errorf("%w: codec %s (%d) was not offered", ErrAnswerMismatch, c, c.PayloadType)
		}
	}
	return as, nil
}

// Marshal is pion's Marshal, for symmetry with Parse.
func Marshal(sd *sdp.SessionDescription) ([]byte, error) { return sd.Marshal() }
