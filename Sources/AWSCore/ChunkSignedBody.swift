import AWSSigV4
import HTTPTransport
import Synchronization

extension HTTPBodyStream {
    /// A stream over bytes already in memory, handed out in one piece.
    package init(bytes: [UInt8]) {
        let remaining = Mutex<[UInt8]?>(bytes.isEmpty ? nil : bytes)
        self.init(length: Int64(bytes.count)) { remaining.withLock { value in defer { value = nil }; return value } }
    }
}

/// A chunk-signed body that did not deliver the length it declared.
package struct ChunkSignedBodyError: Error, Sendable, Hashable, CustomStringConvertible {
    package var declared: Int64
    package var delivered: Int64
    package var description: String {
        delivered > declared
            ? "the body stream delivered more than the \(declared) bytes it declared"
            : "the body stream ended after \(delivered) of the \(declared) bytes it declared"
    }
}

/// Turns a body stream of known length into its `aws-chunked` form: chunks of exactly `chunkSize`
/// bytes (the last one shorter), each framed and signed in a chain, then the final empty chunk.
/// The length of the result is known in advance (`ChunkSigner.encodedLength`), so it goes out with
/// a `Content-Length`.
enum ChunkSignedBody {
    static func stream(_ source: HTTPBodyStream, decodedLength: Int64, chunkSize: Int, signer: ChunkSigner)
        -> HTTPBodyStream
    {
        let encoder = Encoder(source: source, decodedLength: decodedLength, chunkSize: chunkSize, signer: signer)
        let encodedLength = ChunkSigner.encodedLength(decodedLength: Int(decodedLength), chunkSize: chunkSize)
        return HTTPBodyStream(length: Int64(encodedLength)) { try await encoder.next() }
    }

    private final class Encoder: Sendable {
        struct State {
            var signer: ChunkSigner
            /// Source bytes not yet framed.
            var pending: [UInt8] = []
            var received: Int64 = 0
            var sourceEnded = false
            var finished = false
        }

        let source: HTTPBodyStream
        let decodedLength: Int64
        let chunkSize: Int
        let state: Mutex<State>

        init(source: HTTPBodyStream, decodedLength: Int64, chunkSize: Int, signer: ChunkSigner) {
            self.source = source
            self.decodedLength = decodedLength
            self.chunkSize = chunkSize
            self.state = Mutex(State(signer: signer))
        }

        /// The transport calls this one call at a time, so the source is read in order; the lock
        /// only makes the state's hand-over between calls safe.
        func next() async throws -> [UInt8]? {
            while state.withLock({ !$0.sourceEnded && $0.pending.count < chunkSize }) {
                let chunk = try await source.next()
                try state.withLock { (state: inout State) throws(ChunkSignedBodyError) in
                    if let chunk {
                        state.received += Int64(chunk.count)
                        guard state.received <= decodedLength else {
                            throw ChunkSignedBodyError(declared: decodedLength, delivered: state.received)
                        }
                        state.pending.append(contentsOf: chunk)
                    } else {
                        guard state.received == decodedLength else {
                            throw ChunkSignedBodyError(declared: decodedLength, delivered: state.received)
                        }
                        state.sourceEnded = true
                    }
                }
            }
            return state.withLock { state -> [UInt8]? in
                if state.finished { return nil }
                if state.pending.count >= chunkSize {
                    let framed = state.signer.frame(state.pending[0..<chunkSize])
                    state.pending.removeFirst(chunkSize)
                    return framed
                }
                if !state.pending.isEmpty {
                    let framed = state.signer.frame(state.pending)
                    state.pending.removeAll()
                    return framed
                }
                state.finished = true
                return state.signer.finalChunk()
            }
        }
    }
}
