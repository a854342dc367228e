package xsi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Errors of [Splitter.Next].
var (
	// ErrTooLarge: a document grew past the splitter's limit. The stream
	// can't be trusted after it; the channel must be reopened.
	ErrTooLarge = errors.New("xsi: event channel document too large")
	// ErrGarbage: bytes between documents, or a document cut short by the
	// next document's XML declaration. The bytes are skipped; the stream
	// goes on with the next document.
	ErrGarbage = errors.New("xsi: garbage on the event channel")
)

// DefaultMaxDocument is the default document size limit of a [Splitter].
const DefaultMaxDocument = 1 << 20

// Splitter cuts the Xsi-Events channel stream into XML documents. The
// channel is one never-ending chunked HTTP response carrying one document
// per chunk (cti-protocols.md §4.2); Go's HTTP client hides chunk
// boundaries, so the splitter finds each document's end by following its
// markup: a document is an optional prolog and one root element, complete
// when the root closes. Each document BroadWorks sends starts with an XML
// declaration, so a declaration seen inside an unfinished document means
// that document was cut short: it is reported as ErrGarbage and the new
// one is read. The splitter only delimits; [Decode] checks the XML.
type Splitter struct {
	r       *bufio.Reader
	max     int
	pending []byte // bytes read ahead that start the next document
	read    int64
}

// NewSplitter reads documents from r, each at most max bytes
// (DefaultMaxDocument if max <= 0).
func NewSplitter(r io.Reader, max int) *Splitter {
	if max <= 0 {
		max = DefaultMaxDocument
	}
	return &Splitter{r: bufio.NewReaderSize(r, 32<<10), max: max}
}

// BytesRead is how many bytes the splitter has consumed so far.
func (s *Splitter) BytesRead() int64 { return s.read }

func (s *Splitter) byte() (byte, error) {
	if len(s.pending) > 0 {
		c := s.pending[0]
		s.pending = s.pending[1:]
		return c, nil
	}
	c, err := s.r.ReadByte()
	if err == nil {
		s.read++
	}
	return c, err
}

// Next returns the next document. At the end of the stream it returns
// io.EOF (or io.ErrUnexpectedEOF inside a document). ErrGarbage is
// recoverable: call Next again. ErrTooLarge and read errors are not.
func (s *Splitter) Next() ([]byte, error) {
	var doc []byte
	depth := 0
	rooted := false
	add := func(c byte) error {
		doc = append(doc, c)
		if len(doc) > s.max {
			return ErrTooLarge
		}
		return nil
	}
	// until reads bytes up to and including end.
	until := func(end string) error {
		for !bytes.HasSuffix(doc, []byte(end)) {
			c, err := s.byte()
			if err != nil {
				return unexpected(err)
			}
			if err := add(c); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		c, err := s.byte()
		if err != nil {
			if len(bytes.TrimSpace(doc)) == 0 && err == io.EOF {
				return nil, io.EOF
			}
			return nil, unexpected(err)
		}
		if c != '<' {
			if depth == 0 && !isSpace(c) {
				// Text outside any element: skip to the next markup.
				return nil, s.skipGarbage()
			}
			if depth == 0 && len(doc) == 0 {
				continue // whitespace between documents
			}
			if err := add(c); err != nil {
				return nil, err
			}
			continue
		}
		mark := len(doc)
		if err := add(c); err != nil {
			return nil, err
		}
		n, err := s.byte()
		if err != nil {
			return nil, unexpected(err)
		}
		if err := add(n); err != nil {
			return nil, err
		}
		switch n {
		case '?':
			if err := until("?>"); err != nil {
				return nil, err
			}
			if bytes.HasPrefix(doc[mark:], []byte("<?xml")) && isDecl(doc[mark:]) && (rooted || mark > 0 && hasElement(doc[:mark])) {
				// A new document's declaration: the one before was cut.
				s.pending = append(append([]byte{}, doc[mark:]...), s.pending...)
				return nil, fmt.Errorf("%w: document cut short after %d bytes", ErrGarbage, mark)
			}
		case '!':
			if err := s.bang(&doc, add, until); err != nil {
				return nil, err
			}
		case '/':
			if err := until(">"); err != nil {
				return nil, err
			}
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("%w: end tag without a start", ErrGarbage)
			}
			if depth == 0 {
				return doc, nil
			}
		default:
			selfClosing, err := s.tag(add, &doc)
			if err != nil {
				return nil, err
			}
			rooted = true
			if !selfClosing {
				depth++
			} else if depth == 0 {
				return doc, nil
			}
		}
	}
}

// tag reads the rest of a start tag, honouring quoted attribute values,
// and reports whether it closes itself.
func (s *Splitter) tag(add func(byte) error, doc *[]byte) (bool, error) {
	var quote byte
	for {
		c, err := s.byte()
		if err != nil {
			return false, unexpected(err)
		}
		if err := add(c); err != nil {
			return false, err
		}
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			d := *doc
			return len(d) >= 2 && d[len(d)-2] == '/', nil
		}
	}
}

// bang reads a comment, CDATA section or declaration (DOCTYPE, with its
// internal subset) after "<!".
func (s *Splitter) bang(doc *[]byte, add func(byte) error, until func(string) error) error {
	c, err := s.byte()
	if err != nil {
		return unexpected(err)
	}
	if err := add(c); err != nil {
		return err
	}
	switch c {
	case '-':
		return until("-->")
	case '[':
		return until("]]>")
	}
	depth := 0 // [ ] of an internal subset
	var quote byte
	for {
		c, err := s.byte()
		if err != nil {
			return unexpected(err)
		}
		if err := add(c); err != nil {
			return err
		}
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == '>' && depth <= 0:
			return nil
		}
	}
}

// skipGarbage drops bytes up to the next '<' and reports ErrGarbage.
func (s *Splitter) skipGarbage() error {
	n := 1
	for {
		if len(s.pending) == 0 {
			b, err := s.r.Peek(1)
			if err != nil {
				return fmt.Errorf("%w: %d bytes of text between documents", ErrGarbage, n)
			}
			if b[0] == '<' {
				return fmt.Errorf("%w: %d bytes of text between documents", ErrGarbage, n)
			}
		} else if s.pending[0] == '<' {
			return fmt.Errorf("%w: %d bytes of text between documents", ErrGarbage, n)
		}
		if _, err := s.byte(); err != nil {
			return fmt.Errorf("%w: %d bytes of text between documents", ErrGarbage, n)
		}
		n++
	}
}

// isDecl reports whether a processing instruction is the XML declaration
// ("<?xml" followed by white space).
func isDecl(pi []byte) bool { return len(pi) > 5 && isSpace(pi[5]) }

// hasElement reports whether b contains a start tag.
func hasElement(b []byte) bool {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '<' && b[i+1] != '?' && b[i+1] != '!' {
			return true
		}
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
