import Primitives
import Synchronization

/// Derived SigV4 signing keys, kept per (secret, day, region, service) so that the four-HMAC
/// derivation runs once a day per key rather than once a request. Thread-safe; share one between
/// signers to share keys. Neither its description nor its mirror shows any key material.
package final class SigningKeyCache: Sendable, CustomStringConvertible, CustomReflectable {
    private struct Entry {
        var secret: String
        var day: Int64
        var region: String
        var service: String
        var key: HMACSHA256Key
    }

    private struct State {
        var entries: [Entry] = []
        var derivations = 0
    }

    private let state = Mutex(State())
    private let capacity: Int

    /// - Parameter capacity: how many keys to keep; the oldest goes first.
    package init(capacity: Int = 8) {
        self.capacity = max(1, capacity)
    }

    /// The signing key for `secret` on the UTC day of `date`, derived on first use.
    func key(secret: String, date: Timestamp, region: String, service: String) -> HMACSHA256Key {
        let day = date.secondsSinceEpoch.floorDivided(by: 86_400)
        if let key = state.withLock({ state in
            state.entries.first { $0.day == day && $0.secret == secret && $0.region == region && $0.service == service }?
                .key
        }) {
            return key
        }
        let key = Self.derive(secret: secret, date: date, region: region, service: service)
        state.withLock { state in
            state.derivations += 1
            if state.entries.count >= capacity { state.entries.removeFirst() }
            state.entries.append(Entry(secret: secret, day: day, region: region, service: service, key: key))
        }
        return key
    }

    /// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, yyyymmdd), region), service), "aws4_request")`.
    static func derive(secret: String, date: Timestamp, region: String, service: String) -> HMACSHA256Key {
        var material = Array("AWS4".utf8)
        material.append(contentsOf: secret.utf8)
        var dateStamp = [UInt8]()
        AmzDate(date).appendDateStamp(to: &dateStamp)
        let kDate = HMACSHA256Key(material).authenticate(dateStamp)
        for index in material.indices { material[index] = 0 }
        let kRegion = HMACSHA256Key(kDate).authenticate(region)
        let kService = HMACSHA256Key(kRegion).authenticate(service)
        let kSigning = HMACSHA256Key(kService).authenticate("aws4_request")
        return HMACSHA256Key(kSigning)
    }

    /// How many keys are held now.
    package var count: Int { state.withLock { $0.entries.count } }

    /// How many keys have been derived (cache misses) since creation.
    package var derivations: Int { state.withLock { $0.derivations } }

    package var description: String { "SigningKeyCache(count: \(count), capacity: \(capacity))" }
    package var customMirror: Mirror { Mirror(self, children: ["count": count, "capacity": capacity]) }
}

extension Int64 {
    @inline(__always)
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
