import CCurl

/// Turns libcurl's result codes and messages into `HTTPError` codes and safe detail text.
enum CurlErrorMapping {
    static func code(for code: CURLcode) -> HTTPError.Code {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            .dnsFailure
        case CURLE_COULDNT_CONNECT:
            .connectFailed
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_ENGINE_NOTFOUND,
            CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_INITFAILED,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED:
            .tlsFailure
        case CURLE_OPERATION_TIMEDOUT:
            .timeout
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_SEND_FAIL_REWIND,
            CURLE_HTTP2, CURLE_HTTP2_STREAM:
            .connectionReset
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            .invalidURL
        default:
            .other
        }
    }

    /// libcurl's messages name hosts, ports and counts, never headers; but a message that echoes
    /// part of the URL could carry its user information or a presigned query. Every secret in the
    /// URL or in a credential-bearing header is replaced before the text leaves the transport.
    static func scrub(_ message: String, url: String, headers: HTTPHeaders) -> String {
        var secrets: [String] = []
        if let schemeEnd = url.firstRange(of: "://") {
            let rest = url[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                let userinfo = rest[..<at]
                secrets.append(String(userinfo))
                secrets += userinfo.split(separator: ":").map(String.init)
            }
        }
        if let question = url.firstIndex(of: "?") {
            for part in url[url.index(after: question)...].split(separator: "&") {
                let pieces = part.split(separator: "=", maxSplits: 1)
                guard pieces.count == 2, RedactedURL.secretParameters.contains(pieces[0].lowercased()) else { continue }
                secrets.append(String(pieces[1].prefix { $0 != "#" }))
            }
        }
        for field in headers
        where field.name.equalsIgnoringASCIICase("authorization") || field.name.equalsIgnoringASCIICase("x-amz-security-token") {
            secrets.append(field.value)
        }
        var text = message
        // Longest first, so a secret that contains another is replaced whole.
        for secret in secrets.sorted(by: { $0.count > $1.count }) where secret.count >= 4 {
            text = text.replacing(secret, with: "REDACTED")
        }
        return text
    }
}
