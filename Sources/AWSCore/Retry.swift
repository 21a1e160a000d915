import HTTPTransport
import Synchronization

/// The SDKs' "standard" retry mode: a bounded number of attempts, full-jitter exponential backoff
/// capped at 20 seconds, and a shared retry quota so that a struggling service is not stormed.
package struct RetryStrategy: Sendable {
    /// Attempts in all, the first included (`AWS_MAX_ATTEMPTS`, default 3).
    package var maxAttempts: Int
    /// The backoff cap.
    package var maxBackoff: Duration
    /// The shared quota (one per process is typical; pass the same one to every client).
    package var quota: RetryQuota
    /// A number in `[0, 1)`; tests pass a fixed one.
    package var jitter: @Sendable () -> Double
    /// How to wait; tests pass one that records instead of sleeping.
    package var sleep: @Sendable (Duration) async throws -> Void

    package init(
        maxAttempts: Int = 3,
        maxBackoff: Duration = .seconds(20),
        quota: RetryQuota = RetryQuota(),
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.maxAttempts = maxAttempts
        self.maxBackoff = maxBackoff
        self.quota = quota
        self.jitter = jitter
        self.sleep = sleep
    }

    /// The delay before retry number `attempt` (1 for the first retry): `rand × min(2^(attempt-1) s, cap)`.
    package func backoff(forRetry attempt: Int) -> Duration {
        let exponent = min(attempt - 1, 30)
        let base = Duration.seconds(1 << exponent)
        return min(base, maxBackoff) * jitter()
    }

    /// What kind of failure an error is, for retrying; `nil` means never retry it.
    package enum FailureKind: Sendable, Hashable {
        case transient
        case throttling
        case timeout
    }

    package static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
        "EC2ThrottledException",
    ]
    package static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "InternalError", "ServiceUnavailable",
        "InternalFailure",
    ]
    package static let transientStatuses: Set<Int> = [500, 502, 503, 504]

    package static func classify(_ error: AWSError) -> FailureKind? {
        switch error {
        case .service(let serviceError):
            if throttlingCodes.contains(serviceError.code) || serviceError.status == 429 { return .throttling }
            if transientCodes.contains(serviceError.code) || transientStatuses.contains(serviceError.status) {
                return .transient
            }
            return nil
        case .transport(let httpError):
            guard httpError.isTransient else { return nil }
            return httpError.code == .timeout ? .timeout : .transient
        case .credentials, .invalidResponse, .invalidRequest:
            return nil
        }
    }
}

/// The retry token bucket of the standard mode: 500 tokens; a retry costs 5 (10 after a timeout);
/// a success on the first try gives 1 back, a success after retries gives back what it took.
package final class RetryQuota: Sendable {
    package static let initialCapacity = 500
    package static let retryCost = 5
    package static let timeoutRetryCost = 10
    package static let noRetryIncrement = 1

    private let tokens: Mutex<Int>
    private let capacity: Int

    package init(capacity: Int = RetryQuota.initialCapacity) {
        self.capacity = capacity
        tokens = Mutex(capacity)
    }

    package var available: Int { tokens.withLock { $0 } }

    /// Takes the cost of one retry, or returns `nil` when the quota is spent.
    package func acquire(for kind: RetryStrategy.FailureKind) -> Int? {
        let cost = kind == .timeout ? Self.timeoutRetryCost : Self.retryCost
        return tokens.withLock { value -> Int? in
            guard value >= cost else { return nil }
            value -= cost
            return cost
        }
    }

    /// Gives tokens back after a success.
    package func release(_ amount: Int) {
        tokens.withLock { $0 = min(capacity, $0 + amount) }
    }
}
