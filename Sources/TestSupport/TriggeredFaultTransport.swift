package import HTTPTransport
import Synchronization

/// A real transport with a fault at a chosen request. Requests pass through until one matches
/// `trigger`; that one fails (`cancelled`, before it reaches the wire), and so does every later
/// one when `dies` is set — as from an invocation that died there — or, without it, every later
/// request that matches. For tests of what a redelivery recovers; faults at random are the
/// FaultProxy's.
package final class TriggeredFaultTransport: HTTPTransport {
    package typealias Trigger = @Sendable (_ method: String, _ url: String, _ body: [UInt8]) -> Bool

    private let base: any HTTPTransport
    private let trigger: Trigger
    private let dies: Bool
    private let state = Mutex<(triggered: Bool, failed: Int)>((false, 0))

    package init(base: any HTTPTransport, dies: Bool, trigger: @escaping Trigger) {
        self.base = base
        self.dies = dies
        self.trigger = trigger
    }

    /// Requests failed so far.
    package var failed: Int { state.withLock { $0.failed } }

    package func send(_ request: HTTPRequest, options: HTTPRequestOptions) async throws(HTTPError) -> HTTPStreamingResponse {
        let body: [UInt8] = if case .bytes(let bytes) = request.body { bytes } else { [] }
        let matches = trigger(request.method, request.url, body)
        let fails = state.withLock { state -> Bool in
            let fails = matches || (dies && state.triggered)
            if matches { state.triggered = true }
            if fails { state.failed += 1 }
            return fails
        }
        if fails { throw HTTPError(.cancelled, url: request.url, detail: "failed by the test at this request") }
        return try await base.send(request, options: options)
    }
}
