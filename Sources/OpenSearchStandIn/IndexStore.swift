import Foundation
import JSONCodec
import Primitives

/// One stored document: its source as JSON text (already validated: a JSON object), parsed only
/// when a read needs the tree.
struct StoredDocument: Sendable, Hashable {
    /// The document line as it arrived (white space around it trimmed), or a written tree.
    var bytes: ArraySlice<UInt8>
    var version: Int
    var seqNo: Int

    init(bytes: ArraySlice<UInt8>, version: Int, seqNo: Int) {
        self.bytes = bytes
        self.version = version
        self.seqNo = seqNo
    }

    init(source: JSON, version: Int, seqNo: Int) {
        self.init(bytes: source.bytes[...], version: version, seqNo: seqNo)
    }

    /// The source as a tree (`null` cannot happen: only valid JSON is stored).
    var source: JSON { (try? JSONParser.parse(bytes)) ?? .null }
}

/// A document id as `DocumentTable` keys it: the text and a hash of its bytes computed once, so
/// that growing the table and each lookup use one word instead of the whole id. Two ids are equal
/// when their texts are.
struct DocumentID: Equatable, Sendable {
    let text: String
    /// A hash of the text's bytes (`DocumentTable` probes with it).
    let digest: UInt64

    init(_ text: String) {
        self.text = text
        var text = text
        digest = text.withUTF8 { Self.digest(of: UnsafeRawBufferPointer($0)) }
    }

    /// Eight bytes at a time, each word multiplied in, the result's high bits folded into its low
    /// ones (the table takes its home slot from the low bits).
    private static func digest(of bytes: UnsafeRawBufferPointer) -> UInt64 {
        var state = UInt64(truncatingIfNeeded: bytes.count) &* 0x9E37_79B9_7F4A_7C15
        var at = 0
        while at + 8 <= bytes.count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            state = (state ^ word) &* 0xFF51_AFD7_ED55_8CCD
            state ^= state >> 32
            at += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while at < bytes.count {
            tail |= UInt64(bytes[at]) << shift
            shift += 8
            at += 1
        }
        state = (state ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        return state ^ (state >> 29)
    }

    static func == (lhs: DocumentID, rhs: DocumentID) -> Bool { lhs.digest == rhs.digest && lhs.text == rhs.text }
}

/// An index's documents by id: the ids and documents in two dense arrays, in the order they were
/// first written, and an open-addressing table of positions into them, probed by the ids' digests.
/// A write touches one slot at random (eight bytes; the slots of a million documents fit in 16 MiB)
/// and appends to the arrays, where a dictionary of ids and documents would touch 72-byte entries
/// scattered over the whole table and move them all each time it grows. A value type: a copy
/// (the refreshed view) shares the arrays until either side writes.
struct DocumentTable: Sendable {
    private(set) var ids: [DocumentID] = []
    private(set) var documents: [StoredDocument] = []
    /// Empty (0), or a position in `ids` plus one in the low 32 bits and the high half of the id's
    /// digest in the high 32 (compared before the id itself is looked at). Its count is a power of
    /// two, at least twice the documents' (linear probing stays short).
    private var slots: [UInt64] = []

    var count: Int { ids.count }
    var isEmpty: Bool { ids.isEmpty }
    var keys: [DocumentID] { ids }
    var values: [StoredDocument] { documents }

    subscript(key: DocumentID) -> StoredDocument? {
        get { find(key).position.map { documents[$0] } }
        set {
            if let newValue { _ = updateValue(newValue, forKey: key) } else { remove(key) }
        }
    }

    /// Stores `document` under `key`; the document it replaces, if any.
    @discardableResult
    mutating func updateValue(_ document: StoredDocument, forKey key: DocumentID) -> StoredDocument? {
        let found = find(key)
        if let position = found.position {
            let previous = documents[position]
            documents[position] = document
            return previous
        }
        if (ids.count + 1) * 2 > slots.count {
            grow()
            return updateValue(document, forKey: key)
        }
        ids.append(key)
        documents.append(document)
        slots[found.slot] = Self.tag(key.digest) | UInt64(ids.count)
        return nil
    }

    /// Removes `key`; the last document takes its place in the arrays.
    mutating func remove(_ key: DocumentID) {
        let found = find(key)
        guard let position = found.position else { return }
        let last = ids.count - 1
        if position != last {
            let moved = ids[last]
            let movedSlot = find(moved).slot
            ids[position] = moved
            documents[position] = documents[last]
            slots[movedSlot] = Self.tag(moved.digest) | UInt64(position + 1)
        }
        ids.removeLast()
        documents.removeLast()
        deleteSlot(found.slot)
    }

    /// The slot holding `key` and its position, or the empty slot where it would go.
    private func find(_ key: DocumentID) -> (slot: Int, position: Int?) {
        guard !slots.isEmpty else { return (0, nil) }
        let mask = slots.count - 1
        let tag = Self.tag(key.digest)
        var slot = Int(truncatingIfNeeded: key.digest) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { return (slot, nil) }
            if entry & 0xFFFF_FFFF_0000_0000 == tag {
                let position = Int(entry & 0xFFFF_FFFF) - 1
                if ids[position] == key { return (slot, position) }
            }
            slot = (slot + 1) & mask
        }
    }

    /// Empties `slot` and moves later entries of its run back so that every entry stays reachable
    /// from its home slot (deletion without tombstones).
    private mutating func deleteSlot(_ slot: Int) {
        let mask = slots.count - 1
        var hole = slot
        var next = (hole + 1) & mask
        while slots[next] != 0 {
            let entry = slots[next]
            let home = Int(truncatingIfNeeded: ids[Int(entry & 0xFFFF_FFFF) - 1].digest) & mask
            // The entry may fill the hole when its home is not between the hole and where it sits.
            let distanceToHole = (next - home) & mask
            let distanceToNext = (next - hole) & mask
            if distanceToHole >= distanceToNext {
                slots[hole] = entry
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = 0
    }

    private mutating func grow() {
        let capacity = Swift.max(64, slots.count * 2)
        var fresh = [UInt64](repeating: 0, count: capacity)
        let mask = capacity - 1
        for (offset, id) in ids.enumerated() {
            var slot = Int(truncatingIfNeeded: id.digest) & mask
            while fresh[slot] != 0 { slot = (slot + 1) & mask }
            fresh[slot] = Self.tag(id.digest) | UInt64(offset + 1)
        }
        slots = fresh
    }

    private static func tag(_ digest: UInt64) -> UInt64 { digest & 0xFFFF_FFFF_0000_0000 }
}

extension DocumentTable: Sequence {
    func makeIterator() -> Zip2Sequence<[DocumentID], [StoredDocument]>.Iterator { zip(ids, documents).makeIterator() }
}

/// One index: settings, mapping, live documents and the refreshed view that search and count see.
struct IndexState: Sendable {
    let name: String
    let uuid: String
    let createdMillis: Int64
    var settings: JSONObject
    var mapping: Mapping
    /// What GET sees at once (real time).
    var live = DocumentTable()
    /// What search and count see: `live` as of the last refresh.
    var visible = DocumentTable()
    var nextSeqNo = 0
    var dirtySince: Timestamp?

    var replicas: Int {
        let settingsIndex = settings["index"]?.objectValue ?? settings
        if let value = settingsIndex["number_of_replicas"] { return value.intValue ?? Int(value.stringValue ?? "") ?? 1 }
        return 1
    }

    /// `_shards` of a write: the primary plus its (unassigned, single-node) replicas.
    var writeShards: JSON { .object(["total": .number(1 + replicas), "successful": 1, "failed": 0]) }

    mutating func refresh() {
        visible = live
        dirtySince = nil
    }
}

/// The write-ahead record of one document change, as a line of `documents.jsonl`:
/// `{"op":"put","id":…,"version":N,"seq_no":N,"source":{…}}` (the source's stored bytes) or
/// `{"op":"delete","id":…,"seq_no":N}`.
enum LogRecord {
    case put(id: String, version: Int, seqNo: Int, source: ArraySlice<UInt8>)
    case delete(id: String, seqNo: Int)

    func write(to out: inout [UInt8]) {
        switch self {
        case .put(let id, let version, let seqNo, let source):
            out.append(contentsOf: #"{"op":"put","id":"#.utf8)
            JSONWriter.writeString(id, to: &out)
            out.append(contentsOf: #","version":"#.utf8)
            out.append(contentsOf: String(version).utf8)
            out.append(contentsOf: #","seq_no":"#.utf8)
            out.append(contentsOf: String(seqNo).utf8)
            out.append(contentsOf: #","source":"#.utf8)
            out.append(contentsOf: source)
        case .delete(let id, let seqNo):
            out.append(contentsOf: #"{"op":"delete","id":"#.utf8)
            JSONWriter.writeString(id, to: &out)
            out.append(contentsOf: #","seq_no":"#.utf8)
            out.append(contentsOf: String(seqNo).utf8)
        }
        out.append(contentsOf: "}\n".utf8)
    }
}

/// Where the indices live on disk: `<dir>/indices/<name>/index.json` (settings, mapping, uuid;
/// replaced atomically) and `<dir>/indices/<name>/documents.jsonl` (an append-only log of puts and
/// deletes, replayed at start; a torn last line from a crash is ignored).
struct DataDirectory: Sendable {
    let root: String

    var indicesPath: String { root + "/indices" }
    func indexPath(_ name: String) -> String { indicesPath + "/" + name }

    func prepare() throws {
        try FileManager.default.createDirectory(atPath: indicesPath, withIntermediateDirectories: true)
    }

    func saveMeta(_ index: IndexState) throws {
        try FileManager.default.createDirectory(atPath: indexPath(index.name), withIntermediateDirectories: true)
        let meta: JSON = .object([
            "uuid": .string(index.uuid), "created": .number(index.createdMillis), "settings": .object(index.settings),
            "mappings": .object(index.mapping.json),
        ])
        try FileIO.write(meta.bytes, to: indexPath(index.name) + "/index.json")
    }

    func append(_ records: [LogRecord], to index: String) throws {
        guard !records.isEmpty else { return }
        var bytes = [UInt8]()
        for record in records { record.write(to: &bytes) }
        let path = indexPath(index) + "/documents.jsonl"
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError(path: path, errno: errno) }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError(path: path, errno: errno)
            }
            written += n
        }
    }

    func remove(_ index: String) throws {
        try FileManager.default.removeItem(atPath: indexPath(index))
    }

    /// Every index found on disk, its log replayed.
    func load() throws -> [String: IndexState] {
        var indices: [String: IndexState] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: indicesPath)) ?? []
        for name in names.sorted() {
            let metaPath = indexPath(name) + "/index.json"
            guard FileIO.exists(metaPath) else { continue }
            let meta = try JSONParser.parse(try FileIO.read(metaPath))
            var index = IndexState(
                name: name, uuid: meta["uuid"]?.stringValue ?? StandInIDs.uuid(), createdMillis: meta["created"]?.int64Value ?? 0,
                settings: meta["settings"]?.objectValue ?? [:], mapping: Mapping(json: meta["mappings"]?.objectValue ?? [:]))
            let logPath = indexPath(name) + "/documents.jsonl"
            if FileIO.exists(logPath) {
                let bytes = try FileIO.read(logPath, limit: 8 << 30)
                for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
                    guard let record = try? JSONParser.parse(line), let id = record["id"]?.stringValue,
                        let seqNo = record["seq_no"]?.intValue
                    else { continue }  // a torn final line
                    switch record["op"]?.stringValue {
                    case "put":
                        guard let source = record["source"], let version = record["version"]?.intValue else { continue }
                        index.live[DocumentID(id)] = StoredDocument(source: source, version: version, seqNo: seqNo)
                    case "delete":
                        index.live[DocumentID(id)] = nil
                    default:
                        continue
                    }
                    index.nextSeqNo = max(index.nextSeqNo, seqNo + 1)
                }
            }
            index.refresh()
            indices[name] = index
        }
        return indices
    }
}

enum StandInIDs {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    /// A 22-character id like OpenSearch's index UUIDs.
    static func uuid() -> String {
        String((0..<22).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
    }

    /// A 20-character auto-generated document id.
    static func documentID() -> String {
        String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
    }
}

/// A data-directory write that failed.
struct StorageError: Error, CustomStringConvertible {
    var path: String
    var errno: Int32
    var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
}
