package httpapi

// Content codings on the wire, as Microsoft's Graph SDKs use them: request
// bodies compressed with gzip or deflate (Kiota's compression handler sends
// every body gzipped), and gzip answers for clients that accept them.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"allot"
)

// minGzipSize is the smallest answer worth compressing: below it gzip's
// header and trailer cost about as much as they save.
const minGzipSize = 1024

// encoding decodes compressed request bodies and compresses answers. A
// request body is decoded lazily, as the handler reads it, after
// MaxBody compressed bytes at most; the handler's own MaxBody limit then
// counts the decoded bytes, so a small body that expands past the limit is
// refused with 413. An unknown coding is refused with 415 before anything
// runs; a corrupt body is a 400 when it is read.
//
// Answers are compressed at gzip's fastest level with writers reused from a
// pool: a new gzip.Writer allocates its tables, which cost a third of the
// CPU of a small JSON answer.
func (s *Server) encoding(next http.Handler) http.Handler {
	var pool sync.Pool // of *gzip.Writer
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		codings, err := requestCodings(r.Header.Get("Content-Encoding"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(codings) > 0 && r.Body != nil && r.Body != http.NoBody {
			r.Body = &decodedBody{raw: http.MaxBytesReader(w, r.Body, s.limits.MaxBody), codings: codings}
			r.Header.Del("Content-Encoding")
			r.ContentLength = -1
		}
		w.Header().Add("Vary", "Accept-Encoding")
		if !acceptsGzip(r) {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w, status: http.StatusOK, pool: &pool}
		defer gw.finish()
		next.ServeHTTP(gw, r)
	})
}

// requestCodings parses a Content-Encoding header: the codings in the order
// they were applied, without identity. Codings other than gzip and deflate
// are refused (415).
func requestCodings(h string) ([]string, error) {
	var out []string
	for _, c := range strings.Split(h, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		switch c {
		case "", "identity":
		case "gzip", "x-gzip", "deflate":
			out = append(out, c)
		default:
			return nil, allot.Errorf(allot.EUnsupportedMedia,
				"Content-Encoding '%s' is not supported; send the body uncompressed, gzip or deflate.", c)
		}
	}
	return out, nil
}

// decodedBody undoes a request's content codings as it is read.
type decodedBody struct {
	raw     io.ReadCloser
	codings []string
	r       io.Reader // nil until the first Read
	err     error     // a failure to start decoding
}

// Read returns decoded bytes. A body that is not valid in its coding is an
// EInvalid error; the compressed stream's own limit stays a MaxBytesError.
func (b *decodedBody) Read(p []byte) (int, error) {
	if b.r == nil && b.err == nil {
		b.r, b.err = b.open()
	}
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = corruptBody(err)
	}
	return n, err
}

func (b *decodedBody) open() (io.Reader, error) {
	var r io.Reader = b.raw
	for i := len(b.codings) - 1; i >= 0; i-- {
		var err error
		if b.codings[i] == "deflate" {
			r, err = deflateReader(r)
		} else {
			r, err = gzip.NewReader(r)
		}
		if err != nil {
			return nil, corruptBody(err)
		}
	}
	return r, nil
}

// deflateReader reads "deflate" as HTTP defines it (zlib, RFC 1950) and, as
// some clients send it, raw DEFLATE (RFC 1951).
func deflateReader(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	h, err := br.Peek(2)
	if err != nil && len(h) < 2 {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if h[0]&0x0f == 8 && (int(h[0])<<8|int(h[1]))%31 == 0 {
		return zlib.NewReader(br)
	}
	return flate.NewReader(br), nil
}

// corruptBody turns a decoding failure into a 400; the size limit stays.
func corruptBody(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return allot.Errorf(allot.EInvalid, "The request body could not be decompressed as its Content-Encoding says: %v.", err)
}

// Close closes the underlying body.
func (b *decodedBody) Close() error { return b.raw.Close() }

// acceptsGzip tells whether the client takes a gzip answer (Accept-Encoding
// lists gzip without q=0). A range request is answered uncompressed.
func acceptsGzip(r *http.Request) bool {
	if r.Method == http.MethodHead || r.Header.Get("Range") != "" {
		return false
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.TrimSpace(params)
		if v, ok := strings.CutPrefix(q, "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// gzipWriter holds back an answer's first minGzipSize bytes: a shorter
// answer goes out as it is, a longer one gzip-compressed.
type gzipWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool // the handler called WriteHeader
	sent        bool // the header went to the client
	buf         bytes.Buffer
	gz          *gzip.Writer
	pool        *sync.Pool // of *gzip.Writer, shared by the answers
}

// WriteHeader records the status; it is sent with the first bytes that
// decide whether the answer is compressed.
func (g *gzipWriter) WriteHeader(status int) {
	if g.wroteHeader || g.sent {
		return
	}
	if status < 200 && status != http.StatusSwitchingProtocols {
		g.ResponseWriter.WriteHeader(status) // 1xx informational
		return
	}
	g.wroteHeader, g.status = true, status
}

// Write buffers until the answer is long enough to compress.
func (g *gzipWriter) Write(p []byte) (int, error) {
	if !g.wroteHeader {
		g.WriteHeader(http.StatusOK)
	}
	switch {
	case g.gz != nil:
		return g.gz.Write(p)
	case g.sent:
		return g.ResponseWriter.Write(p)
	}
	g.buf.Write(p)
	if g.buf.Len() >= minGzipSize {
		if err := g.start(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// start sends the header and what is buffered, compressed when the answer
// may be.
func (g *gzipWriter) start() error {
	g.sent = true
	h := g.Header()
	if _, typed := h["Content-Type"]; !typed && g.buf.Len() > 0 {
		// What net/http would sniff from the plain bytes, not the gzip ones.
		h.Set("Content-Type", http.DetectContentType(g.buf.Bytes()))
	}
	if g.buf.Len() >= minGzipSize && h.Get("Content-Encoding") == "" && h.Get("Content-Range") == "" &&
		g.status != http.StatusNoContent && g.status != http.StatusNotModified {
		h.Set("Content-Encoding", "gzip")
		h.Del("Content-Length")
		g.ResponseWriter.WriteHeader(g.status)
		if z, ok := g.pool.Get().(*gzip.Writer); ok {
			z.Reset(g.ResponseWriter)
			g.gz = z
		} else {
			z, err := gzip.NewWriterLevel(g.ResponseWriter, gzip.BestSpeed)
			if err != nil {
				return err
			}
			g.gz = z
		}
		_, err := g.gz.Write(g.buf.Bytes())
		g.buf.Reset()
		return err
	}
	g.ResponseWriter.WriteHeader(g.status)
	_, err := g.ResponseWriter.Write(g.buf.Bytes())
	g.buf.Reset()
	return err
}

// Flush sends what is buffered (compressed or not) to the client.
func (g *gzipWriter) Flush() {
	if !g.sent && (g.wroteHeader || g.buf.Len() > 0) {
		g.start()
	}
	if g.gz != nil {
		g.gz.Flush()
	}
	http.NewResponseController(g.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// finish ends the answer: a short one goes out uncompressed, a compressed
// one gets its gzip trailer.
func (g *gzipWriter) finish() {
	if !g.sent && (g.wroteHeader || g.buf.Len() > 0) {
		g.start()
	}
	if g.gz != nil {
		g.gz.Close()
		g.pool.Put(g.gz)
		g.gz = nil
	}
}
