import Foundation
import HTTPTransport
import Primitives
import TestSupport
import Testing

@Suite("CA bundle discovery")
struct CABundleDiscoveryTests {
    @Test("SSL_CERT_FILE wins over every candidate, even when it does not exist")
    func sslCertFileWins() {
        let found = CurlTransport.locateCABundle(
            environment: Environment(["SSL_CERT_FILE": "/nowhere/bundle.pem"]), candidates: ["/a", "/b"], exists: { _ in true })
        #expect(found == "/nowhere/bundle.pem")
    }

    @Test("without SSL_CERT_FILE the first existing candidate is chosen, in order")
    func firstExistingCandidate() {
        let existing: Set = ["/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem"]
        let found = CurlTransport.locateCABundle(environment: Environment(["SSL_CERT_FILE": ""]), exists: existing.contains)
        #expect(found == "/etc/ssl/certs/ca-certificates.crt")
        let amazon = CurlTransport.locateCABundle(
            environment: Environment(), exists: { $0 == "/etc/pki/tls/certs/ca-bundle.crt" || existing.contains($0) })
        #expect(amazon == "/etc/pki/tls/certs/ca-bundle.crt")
    }

    @Test("no candidate on disk and no SSL_CERT_FILE finds nothing")
    func nothingFound() {
        #expect(CurlTransport.locateCABundle(environment: Environment(), exists: { _ in false }) == nil)
    }

    @Test("the Amazon Linux bundle comes first, then Debian's, then /etc/ssl/cert.pem")
    func candidateOrder() {
        #expect(
            CurlTransport.caBundleCandidates == [
                "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem",
            ])
    }

    @Test("a transport uses a configured bundle as given and otherwise the one it finds")
    func transportKeepsItsBundle() throws {
        let configured = try CurlTransport(
            configuration: .init(caBundlePath: "/tmp/explicit.pem"), environment: Environment(["SSL_CERT_FILE": "/tmp/other.pem"]))
        defer { configured.shutdown() }
        #expect(configured.caBundlePath == "/tmp/explicit.pem")
        let fromEnvironment = try CurlTransport(environment: Environment(["SSL_CERT_FILE": "/tmp/other.pem"]))
        defer { fromEnvironment.shutdown() }
        #expect(fromEnvironment.caBundlePath == "/tmp/other.pem")
        let discovered = try CurlTransport(environment: Environment())
        defer { discovered.shutdown() }
        #expect(discovered.caBundlePath == CurlTransport.caBundleCandidates.first(where: FileIO.exists))
    }
}

/// An HTTPS server on loopback (python3's `ssl` module) with a freshly generated self-signed
/// certificate for 127.0.0.1, which is its own CA bundle.
private final class LoopbackTLSServer {
    let directory: URL
    let certificatePath: String
    let process: ChildProcess
    let port: Int

    static let script = """
        import http.server, ssl, sys
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"verified"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, address):
                pass  # handshakes the client rejects
        server = Server(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
        server.socket = context.wrap_socket(server.socket, server_side=True)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        certificatePath = directory.appendingPathComponent("cert.pem").path
        let keyPath = directory.appendingPathComponent("key.pem").path
        let openssl = try ChildProcess(
            "/usr/bin/env",
            arguments: [
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", keyPath, "-out", certificatePath, "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1",
            ],
            environment: ProcessInfo.processInfo.environment)
        let status = await openssl.wait()
        guard status == 0 else { throw TLSServerError("openssl req failed (\(status)): \(openssl.stderr)") }
        process = try ChildProcess(
            "/usr/bin/env", arguments: ["python3", "-c", Self.script, certificatePath, keyPath],
            environment: ProcessInfo.processInfo.environment)
        let deadline = ContinuousClock.now + .seconds(20)
        var port: Int?
        while port == nil, ContinuousClock.now < deadline, process.process.isRunning {
            port = process.stdoutLines.first.flatMap { Int($0) }
            if port == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        guard let port else {
            kill(process.process.processIdentifier, SIGKILL)
            throw TLSServerError("the python3 TLS server did not start: \(process.stderr)")
        }
        self.port = port
    }

    var url: String { "https://127.0.0.1:\(port)/" }

    func stop() async {
        // SIGKILL: the server has nothing to flush, and a test process may have SIGTERM blocked.
        kill(process.process.processIdentifier, SIGKILL)
        await process.wait()
        try? FileManager.default.removeItem(at: directory)
    }
}

private struct TLSServerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("CurlTransport TLS verification against a loopback HTTPS server", .serialized)
struct CurlTransportTLSTests {
    private func get(_ url: String, environment: Environment) async throws -> Result<HTTPResponse, HTTPError> {
        let transport = try CurlTransport(environment: environment)
        defer { transport.shutdown() }
        do {
            return .success(try await transport.execute(HTTPRequest(method: "GET", url: url)))
        } catch {
            return .failure(error)
        }
    }

    @Test("a self-signed server verifies with its certificate as SSL_CERT_FILE")
    func trustedWithItsBundle() async throws {
        let server = try await LoopbackTLSServer()
        let result = try await get(server.url, environment: Environment(["SSL_CERT_FILE": server.certificatePath]))
        await server.stop()
        let response = try result.get()
        #expect(response.head.status == 200)
        #expect(response.body == Array("verified".utf8))
    }

    @Test("the same server fails with tlsFailure under the system's bundle")
    func untrustedUnderSystemBundle() async throws {
        let server = try await LoopbackTLSServer()
        let result = try await get(server.url, environment: Environment())
        await server.stop()
        guard case .failure(let error) = result else {
            Issue.record("a self-signed certificate was accepted")
            return
        }
        #expect(error.code == .tlsFailure)
    }

    @Test("a missing bundle fails closed with tlsFailure, never without verification")
    func missingBundleFailsClosed() async throws {
        let server = try await LoopbackTLSServer()
        let missing = server.directory.appendingPathComponent("absent.pem").path
        let result = try await get(server.url, environment: Environment(["SSL_CERT_FILE": missing]))
        await server.stop()
        guard case .failure(let error) = result else {
            Issue.record("a request succeeded without a CA bundle")
            return
        }
        #expect(error.code == .tlsFailure)
    }
}

/// Verification cannot be switched off for https. The one setting that changes trust is
/// `SSL_CERT_FILE`, which replaces the CA bundle (trust is then exactly that file: it can add a
/// private CA, never remove the check). `CURL_CA_BUNDLE`, `AWS_CA_BUNDLE` and `REQUESTS_CA_BUNDLE`
/// are read by curl's command line, botocore and requests, not by this transport; an empty one (a
/// way to switch verification off in requests) changes nothing here. Checked on the real `awssign`
/// process, so libcurl and OpenSSL see the environment as a bootstrap's would.
@Suite("No setting switches TLS verification off", .serialized)
struct TLSVerificationCannotBeDisabledTests {
    func awssign(_ url: String, _ extra: [String: String], arguments: [String] = []) async throws -> ChildProcess {
        var environment = [
            "PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "AWS_EC2_METADATA_DISABLED": "true",
        ]
        for (name, value) in extra { environment[name] = value }
        let child = try ChildProcess(try builtExecutable("awssign"), arguments: ["--service", "es"] + arguments + [url], environment: environment)
        await child.wait()
        return child
    }

    @Test("an untrusted self-signed server fails with TLSFailure under every setting that could look like a switch; trusting its certificate passes")
    func environmentCannotDisableVerification() async throws {
        let server = try await LoopbackTLSServer()
        let emptyDirectory = server.directory.appendingPathComponent("no-certificates")
        try FileManager.default.createDirectory(at: emptyDirectory, withIntermediateDirectories: true)
        let insecureConfig = server.directory.appendingPathComponent("openssl.cnf")
        try Data("openssl_conf = x\n[x]\nssl_conf = s\n[s]\nsystem_default = d\n[d]\nVerifyMode = None\n".utf8).write(to: insecureConfig)
        let attempts: [[String: String]] = [
            [:],
            ["SSL_CERT_FILE": ""],
            ["SSL_CERT_DIR": emptyDirectory.path],
            ["CURL_CA_BUNDLE": ""], ["CURL_CA_BUNDLE": server.certificatePath],
            ["AWS_CA_BUNDLE": ""], ["AWS_CA_BUNDLE": server.certificatePath],
            ["REQUESTS_CA_BUNDLE": ""], ["CURL_SSL_NO_VERIFY": "1"], ["CURL_INSECURE": "1"], ["PYTHONHTTPSVERIFY": "0"],
            ["NODE_TLS_REJECT_UNAUTHORIZED": "0"], ["AWS_NO_VERIFY_SSL": "true"], ["OPENSSL_CONF": insecureConfig.path],
            ["SSL_CERT_FILE": "", "SSL_CERT_DIR": "", "CURL_CA_BUNDLE": "", "AWS_CA_BUNDLE": "", "OPENSSL_CONF": insecureConfig.path],
        ]
        var outcomes: [(setting: [String: String], status: Int32, stdout: String, stderr: String)] = []
        for setting in attempts {
            let child = try await awssign(server.url, setting)
            outcomes.append((setting, child.process.terminationStatus, child.stdout, child.stderr))
        }
        let trusted = try await awssign(server.url, ["SSL_CERT_FILE": server.certificatePath])
        let insecureFlags = [try await awssign(server.url, [:], arguments: ["-k"]), try await awssign(server.url, [:], arguments: ["--insecure"])]
        await server.stop()

        for outcome in outcomes {
            #expect(outcome.status != 0, "\(outcome.setting) reached the server")
            #expect(!outcome.stdout.contains("verified"), "\(outcome.setting)")
            #expect(outcome.stderr.contains("TLSFailure"), "\(outcome.setting): \(outcome.stderr)")
        }
        #expect(trusted.process.terminationStatus == 0, "\(trusted.stderr)")
        #expect(trusted.stdout == "verified")
        for flag in insecureFlags {
            #expect(flag.process.terminationStatus != 0)
            #expect(flag.stderr.contains("unknown option"), "\(flag.stderr)")
        }
    }
}
