import JSONCodec
import Primitives

/// One parsed bulk action; its document line stays bytes of the request body.
struct BulkEntry: Equatable {
    enum Action: String { case index, create, update, delete }
    var action: Action
    var index: String?
    var id: String?
    /// The document line (index, create, update), a range of the body; `nil` for delete.
    var document: Range<Int>?
}

extension StandInCore {
    /// `POST [/{index}]/_bulk`: NDJSON actions, each answered in order in `items`. The answer is
    /// written as bytes item by item (the per-item shapes are fixed), not built as a JSON tree.
    /// Documents are checked against the mapping in one pass over their bytes (`DocumentCheck`)
    /// and stored as those bytes; only a document that needs more (a new field, a value that does
    /// not fit, invalid JSON) is parsed into a tree, which gives the same answers.
    func bulk(defaultIndex: String?, body: [UInt8], query: [String: String], started: ContinuousClock.Instant) throws(OpenSearchFailure) -> [UInt8] {
        if let defaultIndex { try Self.validateIndexName(defaultIndex) }
        let entries = try Self.parseBulk(body, defaultIndex: defaultIndex)
        let refresh = query["refresh"].map { $0 == "" || $0 == "true" || $0 == "wait_for" } ?? false
        let forced = query["refresh"].map { $0 == "" || $0 == "true" } ?? false

        return try locked { () throws(OpenSearchFailure) -> [UInt8] in
            stats.bulkRequests += 1
            stats.bulkItems += entries.count
            var items: [UInt8] = []
            items.reserveCapacity(entries.count * 180)
            var errors = false
            var context = BulkContext(body: body, keepsRecords: storage != nil)
            var named: Set<String> = []
            for (position, entry) in entries.enumerated() {
                if position > 0 { items.append(UInt8(ascii: ",")) }
                let outcome = apply(entry, context: &context)
                if context.lastName != entry.index, let name = entry.index { named.insert(name) }
                context.lastName = entry.index
                if case .failed = outcome { errors = true }
                outcome.write(action: entry.action, forcedRefresh: forced, to: &items)
            }
            close(&context)
            if let storage {
                do {
                    for name in context.touchedMeta.sorted() { if let index = indices[name] { try storage.saveMeta(index) } }
                    for (name, list) in context.records.sorted(by: { $0.key < $1.key }) { try storage.append(list, to: name) }
                } catch {
                    throw Self.storageFailure(error)
                }
            }
            if refresh {
                for name in named { indices[name]?.refresh() }
            }
            var out: [UInt8] = []
            out.reserveCapacity(items.count + 48)
            out.append(contentsOf: #"{"took":"#.utf8)
            out.append(contentsOf: String(Self.millisSince(started)).utf8)
            out.append(contentsOf: (errors ? #","errors":true,"items":["# : #","errors":false,"items":["#).utf8)
            out.append(contentsOf: items)
            out.append(contentsOf: "]}".utf8)
            return out
        }
    }

    private static func parseBulk(_ body: [UInt8], defaultIndex: String?) throws(OpenSearchFailure) -> [BulkEntry] {
        guard !body.isEmpty else { throw OpenSearchFailure.validation(["no requests added"]) }
        guard body.last == 0x0A else { throw OpenSearchFailure.illegalArgument("The bulk request must be terminated by a newline [\\n]") }
        let read = body.withUnsafeBufferPointer { bytes in Result { () throws(OpenSearchFailure) -> [BulkEntry] in
            var entries: [BulkEntry] = []
            var lines = Lines(bytes: bytes)
            while let line = lines.next() {
                if bytes[line].allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
                let text = UnsafeBufferPointer(rebasing: bytes[line])
                var entry: BulkEntry
                if let quick = ActionLine.quick(text, defaultIndex: defaultIndex) {
                    entry = quick
                } else {
                    entry = try actionEntry(text, lineNumber: lines.number, defaultIndex: defaultIndex)
                }
                if entry.action != .delete {
                    guard let document = lines.next() else {
                        throw OpenSearchFailure.illegalArgument("The bulk request must be terminated by a newline [\\n]")
                    }
                    entry.document = document
                }
                entries.append(entry)
            }
            return entries
        } }
        let entries = try read.get()
        guard !entries.isEmpty else { throw OpenSearchFailure.validation(["no requests added"]) }
        let missing = entries.filter { $0.index == nil }.count
        if missing > 0 { throw OpenSearchFailure.validation(Array(repeating: "index is missing", count: missing)) }
        let missingIDs = entries.filter { ($0.action == .update || $0.action == .delete) && $0.id == nil }.count
        if missingIDs > 0 { throw OpenSearchFailure.validation(Array(repeating: "id is missing", count: missingIDs)) }
        return entries
    }

    /// An action line read through the JSON parser, with OpenSearch's errors for malformed ones.
    static func actionEntry(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int, defaultIndex: String?) throws(OpenSearchFailure) -> BulkEntry {
        let actionJSON: JSON
        do {
            actionJSON = try JSONParser.parse(line)
        } catch {
            throw OpenSearchFailure.illegalArgument("Malformed action/metadata line [\(lineNumber)], expected START_OBJECT but found [\(error)]")
        }
        guard let actionObject = actionJSON.objectValue, actionObject.count == 1, let member = actionObject.members.first else {
            throw OpenSearchFailure.illegalArgument("Malformed action/metadata line [\(lineNumber)], expected a simple value for field [_index] but found [START_OBJECT]")
        }
        guard let action = BulkEntry.Action(rawValue: member.key) else {
            throw OpenSearchFailure.illegalArgument(
                "Malformed action/metadata line [\(lineNumber)], expected one of [create, delete, index, update] but found [\(member.key)]")
        }
        guard let meta = member.value.objectValue else {
            throw OpenSearchFailure.illegalArgument("Malformed action/metadata line [\(lineNumber)], expected START_OBJECT but found [\(member.value.kindName)]")
        }
        for key in meta.keys where !Self.bulkMetadataKeys.contains(key) {
            throw OpenSearchFailure.illegalArgument("Action/metadata line [\(lineNumber)] contains an unknown parameter [\(key)]")
        }
        return BulkEntry(action: action, index: meta["_index"]?.stringValue ?? defaultIndex, id: meta["_id"]?.stringValue)
    }

    /// The body's `\n`-terminated lines, as ranges, numbered from 1.
    private struct Lines {
        let bytes: UnsafeBufferPointer<UInt8>
        var start = 0
        var number = 0

        mutating func next() -> Range<Int>? {
            guard start < bytes.count else { return nil }
            var end = start
            while bytes[end] != 0x0A { end += 1 }  // the body ends with a newline
            defer { start = end + 1 }
            number += 1
            return start..<end
        }
    }

    private static let bulkMetadataKeys: Set<String> = [
        "_index", "_id", "routing", "if_seq_no", "if_primary_term", "require_alias", "retry_on_conflict", "pipeline",
    ]

    static func unparsable(_ detail: String) -> OpenSearchFailure {
        OpenSearchFailure(
            status: 400, type: "mapper_parsing_exception", reason: "failed to parse",
            causedBy: ["type": "json_parse_exception", "reason": .string(detail)])
    }

    /// A document line as a tree, or the item's `failed to parse` error.
    static func parseDocument(_ line: ArraySlice<UInt8>) throws(OpenSearchFailure) -> JSONObject {
        let document: JSON
        do {
            document = try JSONParser.parse(line)
        } catch {
            throw unparsable("\(error)")
        }
        guard let object = document.objectValue else {
            throw unparsable("the document must be a JSON object, found \(document.kindName)")
        }
        return object
    }

    /// What one request's items share: the body, the write-ahead records (kept only with a data
    /// directory), the indices whose metadata changed, index names already checked, `_shards`
    /// fragments, and the index the last items went to, taken out of `indices` while the items
    /// for it follow one another (so its documents are uniquely referenced and change in place).
    private struct BulkContext {
        let body: [UInt8]
        let keepsRecords: Bool
        var records: [String: [LogRecord]] = [:]
        var touchedMeta: Set<String> = []
        var nameFailures: [String: OpenSearchFailure?] = [:]
        var shards: [String: [UInt8]] = [:]
        var open: OpenIndex?
        var lastName: String?

        init(body: [UInt8], keepsRecords: Bool) {
            self.body = body
            self.keepsRecords = keepsRecords
        }
    }

    private struct OpenIndex {
        var state: IndexState
        let shards: [UInt8]
        var records: [LogRecord] = []
    }

    /// Puts the open index back into `indices`.
    private func close(_ context: inout BulkContext) {
        guard let open = context.open else { return }
        context.open = nil
        let name = open.state.name
        indices[name] = open.state
        if !open.records.isEmpty { context.records[name, default: []] += open.records }
    }

    /// One item's answer.
    private enum ItemOutcome {
        /// `shards` is the `_shards` object's bytes.
        case written(index: String, id: String, version: Int, result: String, status: Int, seqNo: Int, shards: [UInt8])
        case failed(index: String, id: String, failure: OpenSearchFailure)

        private static let noopShards = Array(#"{"total":0,"successful":0,"failed":0}"#.utf8)

        static func noop(index: String, id: String, version: Int, seqNo: Int) -> ItemOutcome {
            .written(index: index, id: id, version: version, result: "noop", status: 200, seqNo: seqNo, shards: noopShards)
        }

        /// `{"<action>":{…}}`, members in OpenSearch's order (`forced_refresh` follows `result`).
        func write(action: BulkEntry.Action, forcedRefresh: Bool, to out: inout [UInt8]) {
            out.append(contentsOf: #"{""#.utf8)
            out.append(contentsOf: action.rawValue.utf8)
            out.append(contentsOf: #"":{"_index":"#.utf8)
            switch self {
            case .written(let index, let id, let version, let result, let status, let seqNo, let shards):
                JSONWriter.writeString(index, to: &out)
                out.append(contentsOf: #","_id":"#.utf8)
                JSONWriter.writeString(id, to: &out)
                out.append(contentsOf: #","_version":"#.utf8)
                out.append(contentsOf: String(version).utf8)
                out.append(contentsOf: #","result":""#.utf8)
                out.append(contentsOf: result.utf8)
                out.append(contentsOf: (forcedRefresh && result != "noop" ? #"","forced_refresh":true,"_shards":"# : #"","_shards":"#).utf8)
                out.append(contentsOf: shards)
                out.append(contentsOf: #","_seq_no":"#.utf8)
                out.append(contentsOf: String(seqNo).utf8)
                out.append(contentsOf: #","_primary_term":1,"status":"#.utf8)
                out.append(contentsOf: String(status).utf8)
            case .failed(let index, let id, let failure):
                JSONWriter.writeString(index, to: &out)
                out.append(contentsOf: #","_id":"#.utf8)
                JSONWriter.writeString(id, to: &out)
                out.append(contentsOf: #","status":"#.utf8)
                out.append(contentsOf: String(failure.status).utf8)
                out.append(contentsOf: #","error":"#.utf8)
                JSONWriter.write(.object(failure.object), to: &out)
            }
            out.append(contentsOf: "}}".utf8)
        }
    }

    /// Applies one action; the caller holds the lock.
    private func apply(_ entry: BulkEntry, context: inout BulkContext) -> ItemOutcome {
        let name = entry.index ?? ""
        let id = entry.id ?? StandInIDs.documentID()
        func failed(_ failure: OpenSearchFailure) -> ItemOutcome { .failed(index: name, id: id, failure: failure) }
        // Compared as bytes: names that are equal only as Unicode text are checked on their own.
        let isOpen = context.open?.state.name.utf8.elementsEqual(name.utf8) ?? false
        if !isOpen {
            let nameFailure: OpenSearchFailure?
            if let known = context.nameFailures[name] {
                nameFailure = known
            } else {
                do throws(OpenSearchFailure) {
                    try Self.validateIndexName(name)
                    nameFailure = nil
                } catch {
                    nameFailure = error
                }
                context.nameFailures[name] = .some(nameFailure)
            }
            if let nameFailure { return failed(nameFailure) }
        }
        if faults.itemRejectionRate > 0, random.unit() < faults.itemRejectionRate {
            stats.injectedItemRejections += 1
            return failed(.rejectedExecution())
        }
        if !isOpen {
            close(&context)
            if indices[name] == nil {
                if entry.action == .delete { return failed(.indexNotFound(name)) }
                // action.auto_create_index: the index appears with dynamic mappings.
                indices[name] = IndexState(
                    name: name, uuid: StandInIDs.uuid(), createdMillis: configuration.clock.now().millisecondsSinceEpoch, settings: [:],
                    mapping: Mapping())
                context.touchedMeta.insert(name)
            }
            let state = indices.removeValue(forKey: name)!
            let shards: [UInt8]
            if let known = context.shards[name] {
                shards = known
            } else {
                shards = state.writeShards.bytes
                context.shards[name] = shards
            }
            context.open = OpenIndex(state: state, shards: shards)
        }
        var open = context.open!
        context.open = nil
        defer { context.open = open }
        return apply(entry, name: name, id: id, to: &open, context: &context)
    }

    /// Applies one action to the open index.
    private func apply(_ entry: BulkEntry, name: String, id: String, to open: inout OpenIndex, context: inout BulkContext) -> ItemOutcome {
        let existing = open.state.live[id]
        func shardFailure(_ type: String, _ reason: String, status: Int) -> OpenSearchFailure {
            OpenSearchFailure(
                status: status, type: type, reason: reason,
                extra: [("index", .string(name)), ("shard", "0"), ("index_uuid", .string(open.state.uuid))])
        }
        func written(_ version: Int, _ result: String, _ status: Int, seqNo: Int) -> ItemOutcome {
            .written(index: name, id: id, version: version, result: result, status: status, seqNo: seqNo, shards: open.shards)
        }
        /// Stores `bytes` (a valid JSON object whose values fit the mapping); its sequence number.
        func store(_ bytes: ArraySlice<UInt8>, version: Int) -> Int {
            let seqNo = open.state.nextSeqNo
            open.state.nextSeqNo += 1
            open.state.live[id] = StoredDocument(bytes: bytes, version: version, seqNo: seqNo)
            if open.state.dirtySince == nil { open.state.dirtySince = configuration.clock.now() }
            if context.keepsRecords { open.records.append(.put(id: id, version: version, seqNo: seqNo, source: bytes)) }
            return seqNo
        }
        /// Maps `source`'s new fields (or throws `mapper_parsing_exception`).
        func map(_ source: JSONObject) throws(OpenSearchFailure) {
            if let updated = try open.state.mapping.applying(source, id: id) {
                open.state.mapping = updated
                context.touchedMeta.insert(name)
            }
        }

        do throws(OpenSearchFailure) {
            switch entry.action {
            case .index, .create:
                let line = Self.trimmed(context.body[entry.document!])
                let fits = line.withUnsafeBufferPointer { DocumentCheck.fits($0, open.state.mapping.fields) }
                let tree = fits ? nil : try Self.parseDocument(line)
                if entry.action == .create, let existing {
                    throw shardFailure(
                        "version_conflict_engine_exception", "[\(id)]: version conflict, document already exists (current version [\(existing.version)])",
                        status: 409)
                }
                if let tree { try map(tree) }
                let version = (existing?.version ?? 0) + 1
                let seqNo = store(line, version: version)
                return existing == nil ? written(version, "created", 201, seqNo: seqNo) : written(version, "updated", 200, seqNo: seqNo)
            case .update:
                let request = try Self.parseDocument(context.body[entry.document!])
                guard let doc = request["doc"]?.objectValue ?? request["upsert"]?.objectValue else {
                    throw OpenSearchFailure.validation(["script or doc is missing"])
                }
                guard let existing, case .object(let current) = existing.source else {
                    let upsert = request["doc_as_upsert"]?.boolValue == true ? doc : request["upsert"]?.objectValue
                    guard let upsert else { throw shardFailure("document_missing_exception", "[\(id)]: document missing", status: 404) }
                    try map(upsert)
                    let seqNo = store(JSON.object(upsert).bytes[...], version: 1)
                    return written(1, "created", 201, seqNo: seqNo)
                }
                let merged = Self.merge(current, doc)
                if merged == current {
                    return .noop(index: name, id: id, version: existing.version, seqNo: existing.seqNo)
                }
                try map(merged)
                let seqNo = store(JSON.object(merged).bytes[...], version: existing.version + 1)
                return written(existing.version + 1, "updated", 200, seqNo: seqNo)
            case .delete:
                let seqNo = open.state.nextSeqNo
                open.state.nextSeqNo += 1
                guard let existing else { return written(1, "not_found", 404, seqNo: seqNo) }
                open.state.live[id] = nil
                if open.state.dirtySince == nil { open.state.dirtySince = configuration.clock.now() }
                if context.keepsRecords { open.records.append(.delete(id: id, seqNo: seqNo)) }
                return written(existing.version + 1, "deleted", 200, seqNo: seqNo)
            }
        } catch {
            return .failed(index: name, id: id, failure: error)
        }
    }

    /// `line` without the JSON white space around it.
    private static func trimmed(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        var line = line
        while let first = line.first, isSpace(first) { line.removeFirst() }
        while let last = line.last, isSpace(last) { line.removeLast() }
        return line
    }

    /// A partial-document update: objects merge recursively, everything else is replaced.
    static func merge(_ base: JSONObject, _ patch: JSONObject) -> JSONObject {
        var out = base
        for member in patch {
            if case .object(let patchObject) = member.value, case .object(let baseObject)? = out[member.key] {
                out[member.key] = .object(merge(baseObject, patchObject))
            } else {
                out[member.key] = member.value
            }
        }
        return out
    }
}

/// The action line our encoder and most clients write, `{"<action>":{"_index":"…","_id":"…"}}`
/// (either member optional, in either order, each once), with plain printable ASCII names and ids
/// (no quote, backslash or control character), read without the JSON parser. Any other shape
/// answers `nil` and goes to the parser, which reads these lines to the same entry.
enum ActionLine {
    static func quick(_ line: UnsafeBufferPointer<UInt8>, defaultIndex: String?) -> BulkEntry? {
        var at = 0
        func take(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard line.count - at >= count else { return false }
            for offset in 0..<count where line[at + offset] != literal.utf8Start[offset] { return false }
            at += count
            return true
        }
        /// A plain string's text after its opening quote, through the closing quote.
        func plain() -> String? {
            let start = at
            while at < line.count {
                let byte = line[at]
                if byte == UInt8(ascii: "\"") {
                    defer { at += 1 }
                    return String(decoding: UnsafeBufferPointer(rebasing: line[start..<at]), as: UTF8.self)
                }
                guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return nil }
                at += 1
            }
            return nil
        }
        guard take(#"{""#) else { return nil }
        let action: BulkEntry.Action
        if take(#"index":{"#) {
            action = .index
        } else if take(#"create":{"#) {
            action = .create
        } else if take(#"update":{"#) {
            action = .update
        } else if take(#"delete":{"#) {
            action = .delete
        } else {
            return nil
        }
        var index: String?
        var id: String?
        if !take("}}") {
            repeat {
                if index == nil, take(#""_index":""#) {
                    guard let text = plain() else { return nil }
                    index = text
                } else if id == nil, take(#""_id":""#) {
                    guard let text = plain() else { return nil }
                    id = text
                } else {
                    return nil
                }
            } while take(",")
            guard take("}}") else { return nil }
        }
        guard at == line.count else { return nil }
        return BulkEntry(action: action, index: index ?? defaultIndex, id: id)
    }
}
