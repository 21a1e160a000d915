package import Primitives

/// Parameters read from Parameter Store and kept for a time-to-live, so a warm Lambda reads its
/// settings once every few minutes rather than on every invocation.
///
/// - However many callers ask for the same name at once, one read runs and all of them get its
///   result (single flight per name).
/// - `get(_:forceRefresh: true)` always answers from a read that began after the call, as does
///   the next `get` after `invalidate`.
/// - Failures are not cached: the next `get` reads again.
package actor ParameterCache {
    /// Reads one parameter (the seam: `SSMClient.getParameter` in production).
    package typealias Fetch = @Sendable (String) async throws(SSMError) -> SSMParameter

    private struct Entry {
        var parameter: SSMParameter
        /// When the read that produced it began.
        var readAt: Timestamp
        var generation: UInt64
    }

    private struct Flight {
        var task: Task<Result<SSMParameter, SSMError>, Never>
        var generation: UInt64
    }

    private let fetch: Fetch
    private let clock: any WallClock
    private let timeToLiveNanoseconds: Int64
    private var entries: [String: Entry] = [:]
    private var flights: [String: Flight] = [:]
    private var nextGeneration: UInt64 = 0
    /// Reads of generation at most this (per name, or for all) began before an invalidation and
    /// must not fill the cache.
    private var floors: [String: UInt64] = [:]
    private var floorForAll: UInt64 = 0
    /// How many reads went to the service (for tests and metrics).
    package private(set) var fetchCount = 0

    /// - Parameters:
    ///   - client: where parameters come from.
    ///   - withDecryption: read SecureStrings decrypted (the default).
    ///   - timeToLive: how long a value is served before it is read again (default 5 minutes).
    ///   - clock: the time source (`ManualClock` in tests).
    package init(
        client: SSMClient, withDecryption: Bool = true, timeToLive: Duration = .seconds(300),
        clock: any WallClock = SystemClock()
    ) {
        self.init(timeToLive: timeToLive, clock: clock) { name throws(SSMError) in
            try await client.getParameter(name, withDecryption: withDecryption)
        }
    }

    /// A cache over any fetch function.
    package init(timeToLive: Duration = .seconds(300), clock: any WallClock = SystemClock(), fetch: @escaping Fetch) {
        self.fetch = fetch
        self.clock = clock
        let (seconds, attoseconds) = timeToLive.components
        self.timeToLiveNanoseconds = max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// The parameter `name`: from the cache while it is younger than the time-to-live, else read
    /// (once, however many callers wait).
    /// - Parameter forceRefresh: skip the cache and answer from a read that begins now.
    /// - Throws: what the read throws (`SSMError.parameterNotFound(name:)`…).
    package func get(_ name: String, forceRefresh: Bool = false) async throws(SSMError) -> SSMParameter {
        let now = clock.now()
        if !forceRefresh, let entry = entries[name], now.nanosecondsSinceEpoch - entry.readAt.nanosecondsSinceEpoch < timeToLiveNanoseconds {
            return entry.parameter
        }
        // Join a read already under way, unless the caller needs one that starts after this call.
        if !forceRefresh, let flight = flights[name] {
            return try await flight.task.value.get()
        }
        nextGeneration += 1
        let generation = nextGeneration
        let fetch = self.fetch
        let task = Task { () -> Result<SSMParameter, SSMError> in
            do throws(SSMError) {
                return .success(try await fetch(name))
            } catch {
                return .failure(error)
            }
        }
        flights[name] = Flight(task: task, generation: generation)
        fetchCount += 1
        let result = await task.value
        if flights[name]?.generation == generation { flights[name] = nil }
        let floor = max(entries[name]?.generation ?? 0, floors[name] ?? 0, floorForAll)
        if case .success(let parameter) = result, generation > floor {
            entries[name] = Entry(parameter: parameter, readAt: now, generation: generation)
        }
        return try result.get()
    }

    /// The value of `name` (see `get`).
    package func value(_ name: String, forceRefresh: Bool = false) async throws(SSMError) -> String {
        try await get(name, forceRefresh: forceRefresh).value
    }

    /// Forgets `name`: the next `get` reads it again.
    package func invalidate(_ name: String) {
        entries[name] = nil
        // A read under way began before this call: later callers must not join it, and its
        // result must not fill the cache.
        flights[name] = nil
        floors[name] = nextGeneration
    }

    /// Forgets every parameter.
    package func invalidateAll() {
        entries.removeAll()
        flights.removeAll()
        floors.removeAll()
        floorForAll = nextGeneration
    }
}
