import AWSCore
import CGlibcCompat
import AWSSigV4
import HTTPTransport
import Primitives

#if canImport(Glibc)
import Glibc
#endif

/// `awssign`: sign an arbitrary HTTP request with SigV4 and send it, or print it signed.
/// For operators of OpenSearch domains and private APIs (like `awscurl`).
let usage = """
    usage: awssign [options] URL

    Signs a request with AWS Signature Version 4, using credentials from the standard chain
    (environment, AWS_PROFILE and shared files, container endpoint, instance metadata), and
    sends it; prints the status line on standard error and the body on standard output.

    options:
      -X, --request METHOD     HTTP method (default GET, or POST when a body is given)
      -H, --header 'N: V'      add a header (repeatable)
      -d, --data DATA          request body: text, @FILE, or @- for standard input
      --service NAME           signing name (s3, es, aoss, sqs, execute-api…); guessed from an
                               amazonaws.com host when omitted
      --region REGION          region (default AWS_REGION, then AWS_DEFAULT_REGION)
      --profile NAME           use this profile of the shared files (sets AWS_PROFILE)
      --unsigned-payload       sign UNSIGNED-PAYLOAD instead of the body's hash
      --print                  print the signed request instead of sending it
      --presign SECONDS        print a presigned URL valid for SECONDS instead of sending
      -i, --include            print the response headers too
      -h, --help               this text

    The exit status is 0 for a 2xx answer, 1 for any other answer, 2 for a usage or set-up error.
    """

struct Options {
    var method: String?
    var url: String?
    var headers = HTTPHeaders()
    var data: String?
    var service: String?
    var region: String?
    var profile: String?
    var unsignedPayload = false
    var printOnly = false
    var presignSeconds: Int?
    var include = false
}

func fail(_ message: String, code: Int32 = 2) -> Never {
    writeError("awssign: \(message)\n")
    exit(code)
}

func writeError(_ text: String) {
    var copy = text
    copy.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func writeOut(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(1, buffer.baseAddress! + offset, buffer.count - offset)
            if n <= 0 { break }
            offset += n
        }
    }
}

func parse(_ arguments: [String]) -> Options {
    var options = Options()
    var index = 0
    func value(_ name: String) -> String {
        index += 1
        guard index < arguments.count else { fail("\(name) needs a value\n\n\(usage)") }
        return arguments[index]
    }
    while index < arguments.count {
        let argument = arguments[index]
        switch argument {
        case "-h", "--help":
            writeError(usage + "\n")
            exit(0)
        case "-X", "--request": options.method = value(argument).uppercased()
        case "-H", "--header":
            let header = value(argument)
            guard let colon = header.firstIndex(of: ":") else { fail("header '\(header)' is not of the form 'Name: value'") }
            options.headers.add(String(header[..<colon]), String(header[header.index(after: colon)...]).trimmingLeadingSpaces)
        case "-d", "--data": options.data = value(argument)
        case "--service": options.service = value(argument)
        case "--region": options.region = value(argument)
        case "--profile": options.profile = value(argument)
        case "--unsigned-payload": options.unsignedPayload = true
        case "--print": options.printOnly = true
        case "--presign":
            guard let seconds = Int(value(argument)), (1...604_800).contains(seconds) else {
                fail("--presign takes a number of seconds from 1 to 604800")
            }
            options.presignSeconds = seconds
        case "-i", "--include": options.include = true
        default:
            if argument.hasPrefix("-") { fail("unknown option \(argument)\n\n\(usage)") }
            guard options.url == nil else { fail("only one URL may be given") }
            options.url = argument
        }
        index += 1
    }
    return options
}

extension String {
    var trimmingLeadingSpaces: String { String(drop { $0 == " " || $0 == "\t" }) }
}

/// Guesses the signing name from an AWS host name.
func guessService(host: String) -> String? {
    let labels = host.split(separator: ".")
    guard labels.count >= 3, host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn") else { return nil }
    if host.hasSuffix(".aoss.amazonaws.com") { return "aoss" }
    if labels.contains("es") { return "es" }
    if labels.contains("execute-api") { return "execute-api" }
    if labels.contains(where: { $0 == "s3" || $0.hasPrefix("s3-") }) { return "s3" }
    return String(labels[labels.count - 4 >= 0 ? labels.count - 4 : 0])
}

func readBody(_ data: String?) -> [UInt8]? {
    guard let data else { return nil }
    guard data.hasPrefix("@") else { return Array(data.utf8) }
    let path = String(data.dropFirst())
    if path == "-" {
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }
    do {
        return try FileIO.read(path, limit: 5 << 30)
    } catch {
        fail("\(error)")
    }
}

func run() async -> Int32 {
    let options = parse(Array(CommandLine.arguments.dropFirst()))
    guard let url = options.url else { fail("a URL is required\n\n\(usage)") }
    // scheme://authority, without path or query, names the host to sign for.
    let origin = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).prefix(3)
        .joined(separator: "/").prefix { $0 != "?" && $0 != "#" }
    let endpoint: ServiceEndpoint
    do {
        endpoint = try ServiceEndpoint(parsing: String(origin))
    } catch {
        fail("\(url) is not an http or https URL")
    }
    var env = Environment.process()
    if let region = options.region { env.values["AWS_REGION"] = region }
    if let profile = options.profile { env.values["AWS_PROFILE"] = profile }
    guard let service = options.service ?? guessService(host: endpoint.host) else {
        fail("cannot tell the service from \(endpoint.host): pass --service (for example es, aoss, s3, execute-api)")
    }
    let settings: AWSSettings
    do {
        settings = try AWSSettings(environment: env)
    } catch {
        fail("\(error)")
    }
    let transport: CurlTransport
    do {
        transport = try CurlTransport()
    } catch {
        fail("\(error)")
    }
    let credentials: any CredentialProvider
    do {
        credentials = try await CredentialChain.resolve(settings: settings, transport: transport)
    } catch {
        fail("\(error)")
    }
    let body = readBody(options.data)
    let method = options.method ?? (body == nil ? "GET" : "POST")
    let isS3 = service == "s3"
    let signer = isS3 ? SigV4Signer.s3(region: settings.region) : SigV4Signer(service: service, region: settings.region)
    let current: AWSCredentials
    do {
        current = try await credentials.credentials()
    } catch {
        fail("\(error)")
    }
    let now = SystemClock().now()
    var signable = SignableRequest(method: method, url: url, headers: options.headers.map { (name: $0.name, value: $0.value) })

    if let seconds = options.presignSeconds {
        do {
            let presigned = try signer.presign(
                signable, credentials: current, expires: seconds, date: now,
                payload: isS3 || options.unsignedPayload ? .unsigned : .hash(SHA256.hash(body ?? []).hex))
            writeOut(Array((presigned + "\n").utf8))
            return 0
        } catch {
            fail("\(error)")
        }
    }
    let payload: PayloadSigning = options.unsignedPayload ? .unsigned : .hash(SHA256.hash(body ?? []).hex)
    do {
        try signer.sign(&signable, credentials: current, payload: payload, date: now, addContentSHA256Header: isS3)
    } catch {
        fail("\(error)")
    }
    if options.printOnly {
        var text = "\(method) \(url)\n"
        for header in signable.headers { text += "\(header.name): \(header.value)\n" }
        text += "\n"
        writeOut(Array(text.utf8) + (body ?? []))
        return 0
    }
    let request = HTTPRequest(
        method: method, url: url, headers: HTTPHeaders(signable.headers.map { ($0.name, $0.value) }),
        body: body.map { .bytes($0) } ?? .empty)
    do {
        let response = try await transport.send(request, options: .standard)
        writeError("HTTP \(response.status)\n")
        if options.include {
            var text = ""
            for header in response.headers { text += "\(header.name): \(header.value)\n" }
            writeOut(Array((text + "\n").utf8))
        }
        for try await chunk in response.body { writeOut(chunk) }
        return (200..<300).contains(response.status) ? 0 : 1
    } catch {
        writeError("awssign: \(error)\n")
        return 1
    }
}

exit(await run())
