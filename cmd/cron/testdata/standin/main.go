// Command standin plays the programs of the Python handler's supervisord
// group in cmd/cron's end-to-end test (handler_e2e_test.go), which builds it:
//
//	standin record LOG NAME
//	standin tunnel LOG NAME ADDR HEADER VALUE
//
// Both append "NANOS start NAME EXT_CLOUD EXT_REGION" to LOG when they
// start, from the environment they were started with (so only exported
// variables count), and "NANOS stop NAME" on SIGTERM, before they exit 0.
// The tunnel also serves HTTPS on ADDR (a self-signed certificate): a GET
// of /v2/ORG/cloudlookup/TXN carrying the header HEADER: VALUE is answered
// with the status of http://EXT_CLOUD/cloudlookup?orgId=ORG&txnId=TXN, the
// region the tunnel points at; any other request gets 403.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: standin record|tunnel LOG NAME [ADDR HEADER VALUE]")
		os.Exit(2)
	}
	role, log, name := os.Args[1], os.Args[2], os.Args[3]
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	cloud := os.Getenv("EXT_CLOUD")
	if role == "tunnel" {
		if len(os.Args) != 7 {
			fmt.Fprintln(os.Stderr, "usage: standin tunnel LOG NAME ADDR HEADER VALUE")
			os.Exit(2)
		}
		if err := serve(os.Args[4], os.Args[5], os.Args[6], cloud); err != nil {
			fmt.Fprintln(os.Stderr, "tunnel:", err)
			os.Exit(1)
		}
	}
	record(log, fmt.Sprintf("start %s %s %s", name, orDash(cloud), orDash(os.Getenv("EXT_REGION"))))
	<-stop
	record(log, "stop "+name)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// record appends one line to log in one write.
func record(log, line string) {
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%d %s\n", time.Now().UnixNano(), line); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// serve listens on addr before it returns, then answers in the background.
func serve(addr, header, value, cloud string) error {
	cert, err := selfSigned()
	if err != nil {
		return err
	}
	ln, err := tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if r.Header.Get(header) != value || len(parts) != 4 || parts[0] != "v2" || parts[2] != "cloudlookup" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		u := "http://" + cloud + "/cloudlookup?orgId=" + url.QueryEscape(parts[1]) + "&txnId=" + url.QueryEscape(parts[3])
		resp, err := client.Get(u)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
	go func() { _ = http.Serve(ln, h) }()
	return nil
}

func selfSigned() (tls.Certificate, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, nil
}
