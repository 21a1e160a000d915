package import AWSSigV4
package import Primitives

/// Why credentials could not be had. Messages name the setting to fix and never hold a secret.
package struct AWSCredentialError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        /// No provider in the chain had credentials.
        case noCredentials = "NoCredentials"
        /// A provider's settings are half there (for example a key id without a secret).
        case incomplete = "Incomplete"
        /// The named profile is in neither the credentials nor the config file.
        case profileNotFound = "ProfileNotFound"
        /// A credentials, config or token file could not be read.
        case unreadableFile = "UnreadableFile"
        /// A credentials endpoint URL is not allowed.
        case invalidEndpoint = "InvalidEndpoint"
        /// A credentials endpoint could not be reached or refused.
        case fetchFailed = "FetchFailed"
        /// A credentials endpoint answered with something unreadable.
        case invalidResponse = "InvalidResponse"
    }

    package var code: Code
    package var detail: String

    package init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    package var description: String { "\(code.rawValue): \(detail)" }
}

/// Where signing credentials come from.
package protocol CredentialProvider: Sendable {
    /// Current credentials; temporary ones are refreshed before they expire.
    func credentials() async throws(AWSCredentialError) -> AWSCredentials
    /// A short name for logs (`environment`, `profile default`, `container`, `imds`…).
    var sourceName: String { get }
}

/// Fixed credentials (environment variables, a profile, or tests).
package struct StaticCredentialProvider: CredentialProvider {
    package let value: AWSCredentials
    package let sourceName: String
    package init(_ value: AWSCredentials, sourceName: String = "static") {
        self.value = value
        self.sourceName = sourceName
    }
    package func credentials() async throws(AWSCredentialError) -> AWSCredentials { value }
}

/// Caches temporary credentials and refreshes them `refreshMargin` before they expire. However many
/// callers ask at once, one fetch runs and all of them wait for it.
package actor RefreshingCredentialProvider: CredentialProvider {
    package typealias Fetch = @Sendable () async throws(AWSCredentialError) -> AWSCredentials

    package nonisolated let sourceName: String
    private let fetch: Fetch
    private let clock: any WallClock
    private let refreshMargin: Int64
    private var cached: AWSCredentials?
    private var inFlight: Task<Result<AWSCredentials, AWSCredentialError>, Never>?
    /// How many fetches ran (for tests and metrics).
    package private(set) var fetchCount = 0

    package init(sourceName: String, clock: any WallClock, refreshMarginSeconds: Int64 = 300, fetch: @escaping Fetch) {
        self.sourceName = sourceName
        self.fetch = fetch
        self.clock = clock
        self.refreshMargin = refreshMarginSeconds
    }

    package func credentials() async throws(AWSCredentialError) -> AWSCredentials {
        if let cached, !needsRefresh(cached) { return cached }
        if let inFlight { return try await inFlight.value.get() }
        let fetch = self.fetch
        let task = Task { () -> Result<AWSCredentials, AWSCredentialError> in
            do throws(AWSCredentialError) {
                return .success(try await fetch())
            } catch {
                return .failure(error)
            }
        }
        inFlight = task
        fetchCount += 1
        let result = await task.value
        inFlight = nil
        switch result {
        case .success(let fresh):
            cached = fresh
            return fresh
        case .failure(let error):
            // Keep serving credentials that have not expired yet if the refresh failed.
            if let cached, let expiration = cached.expiration, clock.now() < expiration { return cached }
            throw error
        }
    }

    private func needsRefresh(_ credentials: AWSCredentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return clock.now().adding(seconds: refreshMargin) >= expiration
    }
}
