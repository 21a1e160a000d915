/// Where the parts of a wire URL (`scheme://[userinfo@]host[:port][/path][?query][#fragment]`) lie,
/// as byte offsets into its UTF-8. Nothing is decoded or validated beyond what SigV4 needs.
struct URLParts {
    var scheme: Range<Int>
    var host: Range<Int>
    /// The port, when one is given and differs from the scheme's default (80 for http, 443 for https).
    var explicitPort: Int?
    var path: Range<Int>
    /// The query without its `?`; `nil` when there is no `?`.
    var query: Range<Int>?
    /// Where the URL ends before any `#fragment`.
    var end: Int

    /// Parses `url`.
    /// - Throws: `SigV4Error.Code.invalidURL` when there is no `scheme://host` or the port is not a number.
    init(_ url: UnsafeBufferPointer<UInt8>) throws(SigV4Error) {
        let count = url.count
        var index = 0
        while index < count, isSchemeByte(url[index]) { index += 1 }
        guard index > 0, index + 2 < count, url[index] == UInt8(ascii: ":"), url[index + 1] == UInt8(ascii: "/"),
            url[index + 2] == UInt8(ascii: "/")
        else { throw SigV4Error(.invalidURL, "the URL does not start with scheme://") }
        scheme = 0..<index
        var authorityStart = index + 3
        var authorityEnd = authorityStart
        while authorityEnd < count, !isAuthorityTerminator(url[authorityEnd]) { authorityEnd += 1 }
        // Drop any userinfo.
        var at = authorityEnd
        while at > authorityStart {
            at -= 1
            if url[at] == UInt8(ascii: "@") {
                authorityStart = at + 1
                break
            }
        }
        // Host: a bracketed IPv6 literal or everything up to the first colon.
        var hostEnd = authorityStart
        if hostEnd < authorityEnd, url[hostEnd] == UInt8(ascii: "[") {
            while hostEnd < authorityEnd, url[hostEnd] != UInt8(ascii: "]") { hostEnd += 1 }
            guard hostEnd < authorityEnd else { throw SigV4Error(.invalidURL, "unterminated IPv6 literal in the URL") }
            hostEnd += 1
        } else {
            while hostEnd < authorityEnd, url[hostEnd] != UInt8(ascii: ":") { hostEnd += 1 }
        }
        guard hostEnd > authorityStart else { throw SigV4Error(.invalidURL, "the URL has no host") }
        host = authorityStart..<hostEnd
        explicitPort = nil
        if hostEnd < authorityEnd {
            guard url[hostEnd] == UInt8(ascii: ":") else {
                throw SigV4Error(.invalidURL, "unexpected characters after the host in the URL")
            }
            var port = 0
            var digits = 0
            for byte in url[(hostEnd + 1)..<authorityEnd] {
                guard byte &- UInt8(ascii: "0") < 10, digits < 5 else {
                    throw SigV4Error(.invalidURL, "the URL's port is not a number")
                }
                port = port * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
            }
            guard port <= 65535 else { throw SigV4Error(.invalidURL, "the URL's port is out of range") }
            if digits > 0, port != Self.defaultPort(scheme: UnsafeBufferPointer(rebasing: url[scheme])) {
                explicitPort = port
            }
        }
        var pathEnd = authorityEnd
        while pathEnd < count, url[pathEnd] != UInt8(ascii: "?"), url[pathEnd] != UInt8(ascii: "#") { pathEnd += 1 }
        path = authorityEnd..<pathEnd
        end = pathEnd
        query = nil
        if pathEnd < count, url[pathEnd] == UInt8(ascii: "?") {
            var queryEnd = pathEnd + 1
            while queryEnd < count, url[queryEnd] != UInt8(ascii: "#") { queryEnd += 1 }
            query = (pathEnd + 1)..<queryEnd
            end = queryEnd
        }
    }

    /// Appends the `host` header value: the host in lower case, plus `:port` when not the default.
    func appendCanonicalHost(from url: UnsafeBufferPointer<UInt8>, to out: inout ByteBuffer) {
        out.reserve(host.count)
        for byte in url[host] { out.appendReserved(asciiLowercased(byte)) }
        if let explicitPort {
            out.append(UInt8(ascii: ":"))
            out.append(decimal: explicitPort)
        }
    }

    private static func defaultPort(scheme: UnsafeBufferPointer<UInt8>) -> Int? {
        switch scheme.count {
        case 4 where scheme.elementsEqual("http".utf8, by: { asciiLowercased($0) == $1 }): 80
        case 5 where scheme.elementsEqual("https".utf8, by: { asciiLowercased($0) == $1 }): 443
        default: nil
        }
    }
}

@inline(__always)
private func isSchemeByte(_ byte: UInt8) -> Bool {
    asciiLowercased(byte) &- UInt8(ascii: "a") < 26 || byte &- UInt8(ascii: "0") < 10 || byte == UInt8(ascii: "+")
        || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
}

@inline(__always)
private func isAuthorityTerminator(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#")
}
