import AWSClients
import Primitives
import Testing

/// The parameter cache over a real SSM client and moto; reads are counted at the transport.
@Suite("SSM parameter cache")
struct SSMParameterCacheTests {
    let root = "/" + DynamoDBSSMMoto.uniqueName("cache")
    let clock = ManualClock(Timestamp(secondsSinceEpoch: 1_700_000_000))

    /// A writer that is not counted, and a cache whose reads go through a counting transport.
    func setUp(delay: Duration = .zero, ttl: Duration = .seconds(300)) async throws -> (SSMClient, ParameterCache, CountingTransport) {
        let counting = CountingTransport(DynamoDBSSMMoto.transport, delay: delay)
        let reader = try await DynamoDBSSMMoto.ssm(transport: counting)
        let cache = ParameterCache(client: reader, timeToLive: ttl, clock: clock)
        return (try await DynamoDBSSMMoto.ssm(), cache, counting)
    }

    @Test("A second read within the time-to-live is served from the cache; after it, the parameter is read again")
    func timeToLive() async throws {
        let (writer, cache, counting) = try await setUp()
        let name = "\(root)/mode"
        try await writer.putParameter(name, value: "v1")

        #expect(try await cache.value(name) == "v1")
        #expect(counting.count("GetParameter") == 1)

        try await writer.putParameter(name, value: "v2", overwrite: true)
        clock.advance(seconds: 299)
        #expect(try await cache.value(name) == "v1")
        #expect(counting.count("GetParameter") == 1)

        clock.advance(seconds: 1)
        #expect(try await cache.value(name) == "v2")
        #expect(counting.count("GetParameter") == 2)
        #expect(await cache.fetchCount == 2)
    }

    @Test("forceRefresh and invalidate read again at once")
    func forcedReads() async throws {
        let (writer, cache, counting) = try await setUp()
        let name = "\(root)/limit"
        try await writer.putParameter(name, value: "1")
        #expect(try await cache.value(name) == "1")

        try await writer.putParameter(name, value: "2", overwrite: true)
        #expect(try await cache.value(name) == "1")
        #expect(try await cache.value(name, forceRefresh: true) == "2")
        #expect(counting.count("GetParameter") == 2)

        try await writer.putParameter(name, value: "3", overwrite: true)
        await cache.invalidate(name)
        #expect(try await cache.get(name).value == "3")
        #expect(try await cache.get(name).version == 3)
        #expect(counting.count("GetParameter") == 3)
    }

    @Test("Concurrent callers for one name share a single read; other names read on their own")
    func singleFlight() async throws {
        let (writer, cache, counting) = try await setUp(delay: .milliseconds(300))
        try await writer.putParameter("\(root)/a", value: "alpha")
        try await writer.putParameter("\(root)/b", value: "beta", type: .secureString)

        let values = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<20 {
                let name = index % 2 == 0 ? "\(root)/a" : "\(root)/b"
                group.addTask { try await cache.value(name) }
            }
            var values: [String] = []
            for try await value in group { values.append(value) }
            return values
        }
        #expect(values.count == 20)
        #expect(values.filter { $0 == "alpha" }.count == 10)
        #expect(values.filter { $0 == "beta" }.count == 10)
        #expect(counting.count("GetParameter") == 2)
        #expect(await cache.fetchCount == 2)
    }

    @Test("A failed read is not cached and reaches every waiting caller as the typed error")
    func failuresNotCached() async throws {
        let (writer, cache, counting) = try await setUp(delay: .milliseconds(200))
        let name = "\(root)/later"
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    do {
                        _ = try await cache.get(name)
                        return false
                    } catch {
                        if case .parameterNotFound(name) = error as? SSMError { return true }
                        return false
                    }
                }
            }
            var outcomes: [Bool] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes == Array(repeating: true, count: 5))
        #expect(counting.count("GetParameter") == 1)

        try await writer.putParameter(name, value: "now here")
        #expect(try await cache.value(name) == "now here")
        #expect(counting.count("GetParameter") == 2)
    }

    @Test("A read that began before invalidate does not refill the cache with its older value")
    func invalidateDuringRead() async throws {
        let gate = ReadGate()
        let cache = ParameterCache(timeToLive: .seconds(300), clock: clock) { name throws(SSMError) in
            let value = await gate.read()
            return SSMParameter(name: name, type: .string, value: value, version: 1)
        }
        async let slow = cache.value("/p")
        await gate.waitForReaders(1)
        await cache.invalidate("/p")
        // A new read starts (it does not join the one under way).
        async let fresh = cache.value("/p")
        await gate.waitForReaders(2)
        await gate.release(value: "old", reader: 0)
        await gate.release(value: "new", reader: 1)
        #expect(try await slow == "old")
        #expect(try await fresh == "new")
        #expect(try await cache.value("/p") == "new")
        #expect(await cache.fetchCount == 2)
    }
}

/// Holds each read until the test releases it, so reads can be made to overlap and finish in a chosen order.
actor ReadGate {
    private var waiting: [Int: CheckedContinuation<String, Never>] = [:]
    private var readers = 0
    private var readerWaiters: [(Int, CheckedContinuation<Void, Never>)] = []

    func read() async -> String {
        let index = readers
        readers += 1
        for (count, waiter) in readerWaiters where count <= readers { waiter.resume() }
        readerWaiters.removeAll { $0.0 <= readers }
        return await withCheckedContinuation { waiting[index] = $0 }
    }

    func waitForReaders(_ count: Int) async {
        if readers >= count { return }
        await withCheckedContinuation { readerWaiters.append((count, $0)) }
    }

    func release(value: String, reader: Int) async {
        while waiting[reader] == nil { await Task.yield() }
        waiting.removeValue(forKey: reader)?.resume(returning: value)
    }
}
