import Foundation

/// Failures the stand-in injects, drawn from a seeded generator so that a run repeats.
package struct FaultSettings: Sendable, Hashable {
    /// Which requests the request-level shares apply to.
    package enum Scope: String, Sendable, Hashable {
        /// Only `_bulk` requests.
        case bulk
        /// Every request that passed the signature check (but `GET /`).
        case all
    }

    /// Share of requests answered 429 `rejected_execution_exception`.
    package var requestRejectionRate: Double
    /// Share of requests answered with `errorStatus` (5xx).
    package var requestErrorRate: Double
    package var errorStatus: Int
    /// Share of bulk items answered 429 `rejected_execution_exception` (not applied, not stored).
    package var itemRejectionRate: Double
    package var scope: Scope
    package var seed: UInt64

    package init(
        requestRejectionRate: Double = 0, requestErrorRate: Double = 0, errorStatus: Int = 503, itemRejectionRate: Double = 0,
        scope: Scope = .bulk, seed: UInt64 = 1
    ) {
        self.requestRejectionRate = requestRejectionRate
        self.requestErrorRate = requestErrorRate
        self.errorStatus = errorStatus
        self.itemRejectionRate = itemRejectionRate
        self.scope = scope
        self.seed = seed
    }

    package static let none = FaultSettings()
}

/// A scripted failure: the next `count` requests (after the signature check) get `status`.
package struct ScriptedFault: Sendable, Hashable {
    package var count: Int
    package var status: Int
    /// The OpenSearch exception type in the body; by default the one OpenSearch sends for `status`.
    package var type: String?
    /// Only requests whose path contains this (`_bulk`, say); `nil` matches every request.
    package var pathContains: String?

    package init(count: Int, status: Int, type: String? = nil, pathContains: String? = nil) {
        self.count = count
        self.status = status
        self.type = type
        self.pathContains = pathContains
    }
}

/// SplitMix64: small, fast and good enough for fault shares; seeded so runs repeat.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A number in `[0, 1)`.
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
