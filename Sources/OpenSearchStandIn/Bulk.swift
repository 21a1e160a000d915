import JSONCodec
import Primitives

/// One parsed bulk action.
private struct BulkEntry {
    enum Action: String { case index, create, update, delete }
    var action: Action
    var index: String?
    var id: String?
    /// The document line (index, create, update); `nil` for delete.
    var source: Result<JSONObject, OpenSearchFailure>?
}

extension StandInCore {
    /// `POST [/{index}]/_bulk`: NDJSON actions, each answered in order in `items`. The answer is
    /// written as bytes item by item (the per-item shapes are fixed), not built as a JSON tree.
    func bulk(defaultIndex: String?, body: [UInt8], query: [String: String], started: ContinuousClock.Instant) throws(OpenSearchFailure) -> [UInt8] {
        if let defaultIndex { try Self.validateIndexName(defaultIndex) }
        let entries = try parseBulk(body, defaultIndex: defaultIndex)
        let refresh = query["refresh"].map { $0 == "" || $0 == "true" || $0 == "wait_for" } ?? false
        let forced = query["refresh"].map { $0 == "" || $0 == "true" } ?? false

        return try locked { () throws(OpenSearchFailure) -> [UInt8] in
            stats.bulkRequests += 1
            stats.bulkItems += entries.count
            var items: [UInt8] = []
            items.reserveCapacity(entries.count * 180)
            var errors = false
            var context = BulkContext(keepsRecords: storage != nil)
            for (position, entry) in entries.enumerated() {
                if position > 0 { items.append(UInt8(ascii: ",")) }
                let outcome = apply(entry, context: &context)
                if case .failed = outcome { errors = true }
                outcome.write(action: entry.action, forcedRefresh: forced, to: &items)
            }
            if let storage {
                do {
                    for name in context.touchedMeta.sorted() { if let index = indices[name] { try storage.saveMeta(index) } }
                    for (name, list) in context.records.sorted(by: { $0.key < $1.key }) { try storage.append(list, to: name) }
                } catch {
                    throw Self.storageFailure(error)
                }
            }
            if refresh {
                for name in Set(entries.compactMap(\.index)) { indices[name]?.refresh() }
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

    private func parseBulk(_ body: [UInt8], defaultIndex: String?) throws(OpenSearchFailure) -> [BulkEntry] {
        guard !body.isEmpty else { throw OpenSearchFailure.validation(["no requests added"]) }
        guard body.last == 0x0A else { throw OpenSearchFailure.illegalArgument("The bulk request must be terminated by a newline [\\n]") }
        let lines = body.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        var entries: [BulkEntry] = []
        var position = lines.startIndex
        var lineNumber = 0
        while position < lines.endIndex {
            let line = lines[position]
            position += 1
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
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
            var entry = BulkEntry(action: action, index: meta["_index"]?.stringValue ?? defaultIndex, id: meta["_id"]?.stringValue)
            if action != .delete {
                guard position < lines.endIndex else { throw OpenSearchFailure.illegalArgument("The bulk request must be terminated by a newline [\\n]") }
                let documentLine = lines[position]
                position += 1
                lineNumber += 1
                do {
                    let document = try JSONParser.parse(documentLine)
                    if let object = document.objectValue {
                        entry.source = .success(object)
                    } else {
                        entry.source = .failure(Self.unparsable("the document must be a JSON object, found \(document.kindName)"))
                    }
                } catch {
                    entry.source = .failure(Self.unparsable("\(error)"))
                }
            }
            entries.append(entry)
        }
        guard !entries.isEmpty else { throw OpenSearchFailure.validation(["no requests added"]) }
        let missing = entries.filter { $0.index == nil }.count
        if missing > 0 { throw OpenSearchFailure.validation(Array(repeating: "index is missing", count: missing)) }
        let missingIDs = entries.filter { ($0.action == .update || $0.action == .delete) && $0.id == nil }.count
        if missingIDs > 0 { throw OpenSearchFailure.validation(Array(repeating: "id is missing", count: missingIDs)) }
        return entries
    }

    private static let bulkMetadataKeys: Set<String> = [
        "_index", "_id", "routing", "if_seq_no", "if_primary_term", "require_alias", "retry_on_conflict", "pipeline",
    ]

    static func unparsable(_ detail: String) -> OpenSearchFailure {
        OpenSearchFailure(
            status: 400, type: "mapper_parsing_exception", reason: "failed to parse",
            causedBy: ["type": "json_parse_exception", "reason": .string(detail)])
    }

    /// What one request's items share: the write-ahead records (kept only with a data directory),
    /// the indices whose metadata changed, index names already checked and `_shards` fragments.
    private struct BulkContext {
        let keepsRecords: Bool
        var records: [String: [LogRecord]] = [:]
        var touchedMeta: Set<String> = []
        var nameFailures: [String: OpenSearchFailure?] = [:]
        var shards: [String: [UInt8]] = [:]
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
        if faults.itemRejectionRate > 0, random.unit() < faults.itemRejectionRate {
            stats.injectedItemRejections += 1
            return failed(.rejectedExecution())
        }
        if indices[name] == nil {
            if entry.action == .delete { return failed(.indexNotFound(name)) }
            // action.auto_create_index: the index appears with dynamic mappings.
            indices[name] = IndexState(
                name: name, uuid: StandInIDs.uuid(), createdMillis: configuration.clock.now().millisecondsSinceEpoch, settings: [:],
                mapping: Mapping())
            context.touchedMeta.insert(name)
        }
        // Taken out of `indices` while it changes, so `live` is uniquely referenced and a put
        // does not copy every stored document.
        var index = indices.removeValue(forKey: name)!
        defer { indices[name] = index }
        let existing = index.live[id]
        func shardFailure(_ type: String, _ reason: String, status: Int) -> OpenSearchFailure {
            OpenSearchFailure(
                status: status, type: type, reason: reason,
                extra: [("index", .string(name)), ("shard", "0"), ("index_uuid", .string(index.uuid))])
        }
        func written(_ version: Int, _ result: String, _ status: Int, seqNo: Int) -> ItemOutcome {
            let shards: [UInt8]
            if let known = context.shards[name] {
                shards = known
            } else {
                shards = index.writeShards.bytes
                context.shards[name] = shards
            }
            return .written(index: name, id: id, version: version, result: result, status: status, seqNo: seqNo, shards: shards)
        }
        func store(_ source: JSONObject, version: Int) throws(OpenSearchFailure) -> Int {
            if let updated = try index.mapping.applying(source, id: id) {
                index.mapping = updated
                context.touchedMeta.insert(name)
            }
            let seqNo = index.nextSeqNo
            index.nextSeqNo += 1
            index.live[id] = StoredDocument(source: .object(source), version: version, seqNo: seqNo)
            if index.dirtySince == nil { index.dirtySince = configuration.clock.now() }
            if context.keepsRecords { context.records[name, default: []].append(.put(id: id, version: version, seqNo: seqNo, source: .object(source))) }
            return seqNo
        }

        do throws(OpenSearchFailure) {
            switch entry.action {
            case .index, .create:
                let source = try entry.source!.get()
                if entry.action == .create, let existing {
                    throw shardFailure(
                        "version_conflict_engine_exception", "[\(id)]: version conflict, document already exists (current version [\(existing.version)])",
                        status: 409)
                }
                let version = (existing?.version ?? 0) + 1
                let seqNo = try store(source, version: version)
                return existing == nil ? written(version, "created", 201, seqNo: seqNo) : written(version, "updated", 200, seqNo: seqNo)
            case .update:
                let request = try entry.source!.get()
                guard let doc = request["doc"]?.objectValue ?? request["upsert"]?.objectValue else {
                    throw OpenSearchFailure.validation(["script or doc is missing"])
                }
                guard let existing, case .object(let current) = existing.source else {
                    let upsert = request["doc_as_upsert"]?.boolValue == true ? doc : request["upsert"]?.objectValue
                    guard let upsert else { throw shardFailure("document_missing_exception", "[\(id)]: document missing", status: 404) }
                    let seqNo = try store(upsert, version: 1)
                    return written(1, "created", 201, seqNo: seqNo)
                }
                let merged = Self.merge(current, doc)
                if merged == current {
                    return .noop(index: name, id: id, version: existing.version, seqNo: existing.seqNo)
                }
                let seqNo = try store(merged, version: existing.version + 1)
                return written(existing.version + 1, "updated", 200, seqNo: seqNo)
            case .delete:
                let seqNo = index.nextSeqNo
                index.nextSeqNo += 1
                guard let existing else { return written(1, "not_found", 404, seqNo: seqNo) }
                index.live[id] = nil
                if index.dirtySince == nil { index.dirtySince = configuration.clock.now() }
                if context.keepsRecords { context.records[name, default: []].append(.delete(id: id, seqNo: seqNo)) }
                return written(existing.version + 1, "deleted", 200, seqNo: seqNo)
            }
        } catch {
            return failed(error)
        }
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
