import Foundation
import JSONCodec
import Primitives

/// One parsed bulk action; its document line stays bytes of the request body.
struct BulkEntry: Equatable {
    enum Action: String, CaseIterable {
        case index, create, update, delete

        /// The action's position in `allCases`, for tables indexed by action.
        var slot: Int {
            switch self {
            case .index: 0
            case .create: 1
            case .update: 2
            case .delete: 3
            }
        }
    }
    var action: Action
    var index: String?
    var id: String?
    /// The document line (index, create, update), a range of the body; `nil` for delete.
    var document: Range<Int>?
    /// The fields the document was checked against before the lock was taken (the table's
    /// identity: the request holds every such table until it is answered, so no other table can
    /// take its address meanwhile), and whether it fit. An identifier, not a reference: the
    /// tables are shared by every connection's thread, and counting references to one per
    /// document from two threads made its reference count bounce between the cores.
    var checked: (fields: ObjectIdentifier, fits: Bool)?

    static func == (lhs: BulkEntry, rhs: BulkEntry) -> Bool {
        lhs.action == rhs.action && lhs.index == rhs.index && lhs.id == rhs.id && lhs.document == rhs.document
    }
}

extension StandInCore {
    /// `POST [/{index}]/_bulk`: NDJSON actions, each answered in order in `items`. The answer is
    /// written as bytes item by item (the per-item shapes are fixed), not built as a JSON tree.
    /// Documents are checked against the mapping in one pass over their bytes (`DocumentCheck`)
    /// and stored as those bytes; only a document that needs more (a new field, a value that does
    /// not fit, invalid JSON) is parsed into a tree, which gives the same answers. The check runs
    /// before the lock is taken, against the fields mapped then; under the lock an item uses that
    /// answer only if its index still has those very fields (else it checks again).
    func bulk(defaultIndex: String?, body: [UInt8], query: [String: String], started: ContinuousClock.Instant) throws(OpenSearchFailure) -> [UInt8] {
        if let defaultIndex { try Self.validateIndexName(defaultIndex) }
        var entries = try Self.parseBulk(body, defaultIndex: defaultIndex)
        let checkedAgainst = precheck(&entries, body: body)
        defer { withExtendedLifetime(checkedAgainst) {} }
        let refresh = query["refresh"].map { $0 == "" || $0 == "true" || $0 == "wait_for" } ?? false
        let forced = query["refresh"].map { $0 == "" || $0 == "true" } ?? false
        let filter = try query["filter_path"].map { text throws(OpenSearchFailure) in try FilterPath(text) }
        // Item members a filter keeps, by action; nil when some member is only partly kept (the
        // whole answer is then filtered as a tree).
        // Indexed by `BulkEntry.Action.slot`.
        let kept = filter.flatMap { filter in
            BulkEntry.Action.allCases.reduce(into: [ItemMembers]?([])) { table, action in
                guard table != nil, let members = ItemMembers(filter, action: action) else { return table = nil }
                table?.append(members)
            }
        }

        return try locked { () throws(OpenSearchFailure) -> [UInt8] in
            stats.bulkRequests += 1
            stats.bulkItems += entries.count
            if filter != nil { stats.filteredBulkAnswers += 1 }
            var items: [UInt8] = []
            items.reserveCapacity(entries.count * 180)
            var errors = false
            var context = BulkContext(body: body, keepsRecords: storage != nil)
            var open: OpenIndex?
            // By position: the entries are read in place, not copied.
            for position in entries.indices {
                let outcome = apply(entries[position], open: &open, context: &context)
                if case .failed = outcome { errors = true }
                let action = entries[position].action
                if let kept {
                    outcome.write(action: action, forcedRefresh: forced, keeping: kept[action.slot], to: &items)
                } else {
                    if !items.isEmpty { items.append(UInt8(ascii: ",")) }
                    outcome.write(action: action, forcedRefresh: forced, to: &items)
                }
            }
            close(&open, &context)
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
            let took = Self.millisSince(started)
            stats.lastBulkAnswer = .now
            if let filter, kept != nil {
                return Self.filteredAnswer(filter, took: took, errors: errors, items: items)
            }
            var out: [UInt8] = []
            out.reserveCapacity(items.count + 48)
            out.append(contentsOf: #"{"took":"#.utf8)
            out.append(contentsOf: String(took).utf8)
            out.append(contentsOf: (errors ? #","errors":true,"items":["# : #","errors":false,"items":["#).utf8)
            out.append(contentsOf: items)
            out.append(contentsOf: "]}".utf8)
            guard let filter else { return out }
            // A filter that keeps part of a member: the answer as a tree, filtered.
            guard let answer = try? JSONParser.parse(out) else { return out }
            return filter.apply(answer).bytes
        }
    }

    /// The top of a filtered answer around items already filtered (`items` holds them with a comma
    /// after each).
    private static func filteredAnswer(_ filter: FilterPath, took: Int, errors: Bool, items: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        func member(_ name: String) {
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: "\"\(name)\":".utf8)
        }
        if filter.match(["took"]) == .all {
            member("took")
            out.append(contentsOf: String(took).utf8)
        }
        if filter.match(["errors"]) == .all {
            member("errors")
            out.append(contentsOf: (errors ? "true" : "false").utf8)
        }
        if !items.isEmpty {
            member("items")
            out.append(UInt8(ascii: "["))
            out.append(contentsOf: items.dropLast())
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Which members of one action's items a filter keeps whole (`nil` when it keeps part of one):
    /// bit `i` stands for `all[i]`.
    struct ItemMembers: Sendable {
        private var bits: UInt16 = 0

        /// Every member an item can have, in the order OpenSearch writes them.
        static let all = ["_index", "_id", "_version", "result", "forced_refresh", "_shards", "_seq_no", "_primary_term", "status", "error"]

        init?(_ filter: FilterPath, action: BulkEntry.Action) {
            for (position, name) in Self.all.enumerated() {
                switch filter.match(["items", action.rawValue, name]) {
                case .all: bits |= 1 << position
                case .partial: return nil
                case .none: break
                }
            }
        }

        /// Whether the member at `position` in `all` is kept.
        func contains(_ position: Int) -> Bool { bits & (1 << position) != 0 }

        /// Whether a written item keeps only its `status` (`error`, the one member after it, is
        /// never a written item's): a client asking only whether each item succeeded, as the
        /// ingest handler does with `errors,items.*.status,items.*.error`.
        var keepsOnlyStatusOfWritten: Bool { bits & 0x1FF == 1 << 8 }
    }

    private static func parseBulk(_ body: [UInt8], defaultIndex: String?) throws(OpenSearchFailure) -> [BulkEntry] {
        guard !body.isEmpty else { throw OpenSearchFailure.validation(["no requests added"]) }
        guard body.last == 0x0A else { throw OpenSearchFailure.illegalArgument("The bulk request must be terminated by a newline [\\n]") }
        let read = body.withUnsafeBufferPointer { bytes in Result { () throws(OpenSearchFailure) -> [BulkEntry] in
            var entries: [BulkEntry] = []
            // An action and its document take a few hundred bytes: sized once, not grown by copying.
            entries.reserveCapacity(bytes.count / 256 + 1)
            var lastIndex: String?
            var lines = Lines(bytes: bytes)
            while let line = lines.next() {
                if bytes[line].allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
                let text = UnsafeBufferPointer(rebasing: bytes[line])
                var entry: BulkEntry
                if let quick = ActionLine.quick(text, defaultIndex: defaultIndex, previousIndex: lastIndex) {
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
                lastIndex = entry.index
                entries.append(entry)
            }
            return entries
        } }
        let entries = try read.get()
        guard !entries.isEmpty else { throw OpenSearchFailure.validation(["no requests added"]) }
        var missing = 0
        var missingIDs = 0
        for position in entries.indices {
            if entries[position].index == nil { missing += 1 }
            if entries[position].action == .update || entries[position].action == .delete, entries[position].id == nil { missingIDs += 1 }
        }
        if missing > 0 { throw OpenSearchFailure.validation(Array(repeating: "index is missing", count: missing)) }
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
            // The body ends with a newline.
            let found = memchr(bytes.baseAddress! + start, 0x0A, bytes.count - start)!
            let end = bytes.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
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

    /// Checks index and create documents against the fields their index has now (outside the lock).
    /// - Returns: the tables the entries were checked against, for the caller to hold until the
    ///   entries are applied.
    private func precheck(_ entries: inout [BulkEntry], body: [UInt8]) -> [FieldTable] {
        var names: Set<String> = []
        var lastName: String?
        for position in entries.indices where entries[position].action == .index || entries[position].action == .create {
            if entries[position].index != lastName, let name = entries[position].index { names.insert(name) }
            lastName = entries[position].index
        }
        let tables = lock.withLock { () -> [String: FieldTable] in
            var tables: [String: FieldTable] = [:]
            for name in names { if let fields = indices[name]?.mapping.fields { tables[name] = fields } }
            return tables
        }
        guard !tables.isEmpty else { return [] }
        body.withUnsafeBufferPointer { bytes in
            entries.withUnsafeMutableBufferPointer { entries in
                lastName = nil
                var table: FieldTable?
                for position in entries.indices where entries[position].action == .index || entries[position].action == .create {
                    if entries[position].index != lastName {
                        lastName = entries[position].index
                        table = lastName.flatMap { tables[$0] }
                    }
                    guard let table, let line = entries[position].document else { continue }
                    // White space around the document changes nothing: the check skips it too.
                    entries[position].checked = (ObjectIdentifier(table), DocumentCheck.fits(UnsafeBufferPointer(rebasing: bytes[line]), table))
                }
            }
        }
        return Array(tables.values)
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
    /// directory), the indices whose metadata changed, index names already checked and `_shards`
    /// fragments.
    private struct BulkContext {
        let body: [UInt8]
        let keepsRecords: Bool
        var records: [String: [LogRecord]] = [:]
        var touchedMeta: Set<String> = []
        var nameFailures: [String: OpenSearchFailure?] = [:]
        var shards: [String: [UInt8]] = [:]

        init(body: [UInt8], keepsRecords: Bool) {
            self.body = body
            self.keepsRecords = keepsRecords
        }
    }

    /// The index the last items went to, taken out of `indices` while the items for it follow one
    /// another (so its documents are uniquely referenced and change in place).
    private struct OpenIndex {
        var state: IndexState
        /// The name as the answers write it (a JSON string) and the `_shards` object.
        let nameJSON: [UInt8]
        let shards: [UInt8]
        var records: [LogRecord] = []
        /// `state.mapping.fields`' identity, kept with the mapping (compared per document without
        /// touching the table's reference count).
        var fieldsID: ObjectIdentifier

        init(state: IndexState, nameJSON: [UInt8], shards: [UInt8]) {
            self.state = state
            self.nameJSON = nameJSON
            self.shards = shards
            fieldsID = ObjectIdentifier(state.mapping.fields)
        }
    }

    /// Puts the open index back into `indices`.
    private func close(_ open: inout OpenIndex?, _ context: inout BulkContext) {
        guard let closing = open else { return }
        open = nil
        let open = closing
        let name = open.state.name
        indices[name] = open.state
        if !open.records.isEmpty { context.records[name, default: []] += open.records }
    }

    /// One item's answer.
    private enum ItemOutcome {
        enum Result {
            case created, updated, deleted, notFound, noop

            var bytes: [UInt8] {
                switch self {
                case .created: Self.createdBytes
                case .updated: Self.updatedBytes
                case .deleted: Self.deletedBytes
                case .notFound: Self.notFoundBytes
                case .noop: Self.noopBytes
                }
            }
            private static let createdBytes = Array(#","result":"created","#.utf8)
            private static let updatedBytes = Array(#","result":"updated","#.utf8)
            private static let deletedBytes = Array(#","result":"deleted","#.utf8)
            private static let notFoundBytes = Array(#","result":"not_found","#.utf8)
            private static let noopBytes = Array(#","result":"noop","#.utf8)
        }

        /// `index` is the name as a JSON string, `shards` the `_shards` object's bytes.
        case written(index: [UInt8], id: String, version: Int, result: Result, status: Int, seqNo: Int, shards: [UInt8])
        case failed(index: String, id: String, failure: OpenSearchFailure)

        private static let noopShards = Array(#"{"total":0,"successful":0,"failed":0}"#.utf8)
        private static let indexStart = Array(#"{"index":{"_index":"#.utf8)
        private static let createStart = Array(#"{"create":{"_index":"#.utf8)
        private static let updateStart = Array(#"{"update":{"_index":"#.utf8)
        private static let deleteStart = Array(#"{"delete":{"_index":"#.utf8)

        private static func start(_ action: BulkEntry.Action) -> [UInt8] {
            switch action {
            case .index: indexStart
            case .create: createStart
            case .update: updateStart
            case .delete: deleteStart
            }
        }
        private static let idKey = Array(#","_id":"#.utf8)
        private static let versionKey = Array(#","_version":"#.utf8)
        private static let forcedShardsKey = Array(#""forced_refresh":true,"_shards":"#.utf8)
        private static let shardsKey = Array(#""_shards":"#.utf8)
        private static let seqNoKey = Array(#","_seq_no":"#.utf8)
        private static let termStatusKey = Array(#","_primary_term":1,"status":"#.utf8)
        private static let statusKey = Array(#","status":"#.utf8)
        private static let errorKey = Array(#","error":"#.utf8)
        private static let end = Array("}}".utf8)

        static func noop(index: [UInt8], id: String, version: Int, seqNo: Int) -> ItemOutcome {
            .written(index: index, id: id, version: version, result: .noop, status: 200, seqNo: seqNo, shards: noopShards)
        }

        /// `{"<action>":{…}}`, members in OpenSearch's order (`forced_refresh` follows `result`).
        func write(action: BulkEntry.Action, forcedRefresh: Bool, to out: inout [UInt8]) {
            if case .written(let index, let id, let version, let result, let status, let seqNo, let shards) = self {
                var id = id
                let written = id.withUTF8 { id in
                    Self.writePlain(
                        action: action, index: index, id: id, version: version, result: result, forcedRefresh: forcedRefresh, status: status, seqNo: seqNo,
                        shards: shards, to: &out)
                }
                if written { return }
            }
            out.append(contentsOf: Self.start(action))
            switch self {
            case .written(let index, let id, let version, let result, let status, let seqNo, let shards):
                out.append(contentsOf: index)
                out.append(contentsOf: Self.idKey)
                JSONWriter.writeString(id, to: &out)
                out.append(contentsOf: Self.versionKey)
                out.append(contentsOf: String(version).utf8)
                out.append(contentsOf: result.bytes)
                out.append(contentsOf: forcedRefresh && result != .noop ? Self.forcedShardsKey : Self.shardsKey)
                out.append(contentsOf: shards)
                out.append(contentsOf: Self.seqNoKey)
                out.append(contentsOf: String(seqNo).utf8)
                out.append(contentsOf: Self.termStatusKey)
                out.append(contentsOf: String(status).utf8)
            case .failed(let index, let id, let failure):
                JSONWriter.writeString(index, to: &out)
                out.append(contentsOf: Self.idKey)
                JSONWriter.writeString(id, to: &out)
                out.append(contentsOf: Self.statusKey)
                out.append(contentsOf: String(failure.status).utf8)
                out.append(contentsOf: Self.errorKey)
                JSONWriter.write(.object(failure.object), to: &out)
            }
            out.append(contentsOf: Self.end)
        }

        /// `"<name>":` for each of `ItemMembers.all`.
        private static let memberKeys = ItemMembers.all.map { Array("\"\($0)\":".utf8) }
        /// `{"<action>":{` by `BulkEntry.Action.slot`.
        private static let filteredStarts = BulkEntry.Action.allCases.map { Array("{\"\($0.rawValue)\":{".utf8) }
        /// `{"<action>":{"status":` by `BulkEntry.Action.slot`, and what closes such an item.
        private static let statusOnlyStarts = filteredStarts.map { $0 + memberKeys[8] }
        private static let statusOnlyEnd: [UInt8] = Array("}},".utf8)

        /// A status: three digits (every HTTP status) without a `String`.
        private static func appendStatus(_ status: Int, to out: inout [UInt8]) {
            guard (100...999).contains(status) else { return out.append(contentsOf: String(status).utf8) }
            out.append(UInt8(ascii: "0") + UInt8(status / 100))
            out.append(UInt8(ascii: "0") + UInt8(status / 10 % 10))
            out.append(UInt8(ascii: "0") + UInt8(status % 10))
        }

        /// `{"<action>":{…}}` with only the members in `keeping`, then a comma; nothing when it keeps
        /// none of this item's members (OpenSearch drops emptied array elements).
        func write(action: BulkEntry.Action, forcedRefresh: Bool, keeping: ItemMembers, to out: inout [UInt8]) {
            if keeping.keepsOnlyStatusOfWritten, case .written(_, _, _, _, let status, _, _) = self, (100...999).contains(status) {
                // `{"index":{"status":201}},` in one append: the same bytes as the general path.
                let start = Self.statusOnlyStarts[action.slot]
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: start.count + 6) { buffer in
                    var item = StackWriter(base: buffer.baseAddress!)
                    item.put(start)
                    item.put(decimal: status)
                    item.put(Self.statusOnlyEnd)
                    out.append(contentsOf: UnsafeBufferPointer(start: buffer.baseAddress!, count: item.count))
                }
                return
            }
            let mark = out.count
            out.append(contentsOf: Self.filteredStarts[action.slot])
            let open = out.count
            /// The member at `position` in `ItemMembers.all`, when kept.
            func member(_ position: Int, _ write: (inout [UInt8]) -> Void) {
                guard keeping.contains(position) else { return }
                if out.count > open { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: Self.memberKeys[position])
                write(&out)
            }
            switch self {
            case .written(let index, let id, let version, let result, let status, let seqNo, let shards):
                member(0) { $0.append(contentsOf: index) }
                member(1) { JSONWriter.writeString(id, to: &$0) }
                member(2) { $0.append(contentsOf: String(version).utf8) }
                // `result`'s bytes are `,"result":"…",`: the value sits after the 10th byte.
                member(3) { $0.append(contentsOf: result.bytes.dropFirst(10).dropLast()) }
                if forcedRefresh && result != .noop { member(4) { $0.append(contentsOf: "true".utf8) } }
                member(5) { $0.append(contentsOf: shards) }
                member(6) { $0.append(contentsOf: String(seqNo).utf8) }
                member(7) { $0.append(UInt8(ascii: "1")) }
                member(8) { Self.appendStatus(status, to: &$0) }
            case .failed(let index, let id, let failure):
                member(0) { JSONWriter.writeString(index, to: &$0) }
                member(1) { JSONWriter.writeString(id, to: &$0) }
                member(8) { $0.append(contentsOf: String(failure.status).utf8) }
                member(9) { JSONWriter.write(.object(failure.object), to: &$0) }
            }
            if out.count == open {
                out.removeSubrange(mark...)
                return
            }
            out.append(contentsOf: "}},".utf8)
        }

        /// A written item whose id needs no escapes, assembled on the stack and appended with one
        /// copy (the same bytes as the general path); `false` when the id needs escapes.
        private static func writePlain(
            action: BulkEntry.Action, index: [UInt8], id: UnsafeBufferPointer<UInt8>, version: Int, result: Result, forcedRefresh: Bool, status: Int,
            seqNo: Int, shards: [UInt8], to out: inout [UInt8]
        ) -> Bool {
            for byte in id where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            guard version >= 0, seqNo >= 0, status >= 0 else { return false }
            let start = start(action)
            let resultBytes = result.bytes
            let shardsKey = forcedRefresh && result != .noop ? forcedShardsKey : shardsKey
            let capacity =
                start.count + index.count + idKey.count + id.count + 2 + versionKey.count + resultBytes.count + shardsKey.count + shards.count
                + seqNoKey.count + termStatusKey.count + end.count + 3 * 20
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
                var item = StackWriter(base: buffer.baseAddress!)
                item.put(start)
                item.put(index)
                item.put(idKey)
                item.put(UInt8(ascii: "\""))
                item.put(id)
                item.put(UInt8(ascii: "\""))
                item.put(versionKey)
                item.put(decimal: version)
                item.put(resultBytes)
                item.put(shardsKey)
                item.put(shards)
                item.put(seqNoKey)
                item.put(decimal: seqNo)
                item.put(termStatusKey)
                item.put(decimal: status)
                item.put(end)
                out.append(contentsOf: UnsafeBufferPointer(start: buffer.baseAddress!, count: item.count))
            }
            return true
        }
    }

    /// Applies one action; the caller holds the lock.
    private func apply(_ entry: BulkEntry, open: inout OpenIndex?, context: inout BulkContext) -> ItemOutcome {
        let name = entry.index ?? ""
        let id = entry.id ?? StandInIDs.documentID()
        func failed(_ failure: OpenSearchFailure) -> ItemOutcome { .failed(index: name, id: id, failure: failure) }
        // Compared as bytes: names that are equal only as Unicode text are checked on their own.
        // Through the optional chain, not `open.map`: that would copy the whole open index.
        let isOpen = (open?.state.name).map { Self.sameBytes($0, name) } ?? false
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
            close(&open, &context)
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
            var nameJSON: [UInt8] = []
            JSONWriter.writeString(name, to: &nameJSON)
            open = OpenIndex(state: state, nameJSON: nameJSON, shards: shards)
        }
        return apply(entry, name: name, id: id, to: &open!, context: &context)
    }

    /// Applies one action to the open index.
    private func apply(_ entry: BulkEntry, name: String, id: String, to open: inout OpenIndex, context: inout BulkContext) -> ItemOutcome {
        func shardFailure(_ type: String, _ reason: String, status: Int) -> OpenSearchFailure {
            OpenSearchFailure(
                status: status, type: type, reason: reason,
                extra: [("index", .string(name)), ("shard", "0"), ("index_uuid", .string(open.state.uuid))])
        }
        let key = DocumentID(id)
        func written(_ version: Int, _ result: ItemOutcome.Result, _ status: Int, seqNo: Int) -> ItemOutcome {
            .written(index: open.nameJSON, id: id, version: version, result: result, status: status, seqNo: seqNo, shards: open.shards)
        }
        /// Stores `bytes` (a valid JSON object whose values fit the mapping); its sequence number.
        func store(_ bytes: ArraySlice<UInt8>, version: Int) -> Int {
            let seqNo = open.state.nextSeqNo
            open.state.nextSeqNo += 1
            open.state.live[key] = StoredDocument(bytes: bytes, version: version, seqNo: seqNo)
            if open.state.dirtySince == nil { open.state.dirtySince = configuration.clock.now() }
            if context.keepsRecords { open.records.append(.put(id: id, version: version, seqNo: seqNo, source: bytes)) }
            return seqNo
        }
        /// Stores `bytes` over any earlier version, with one lookup when the id is new.
        func put(_ bytes: ArraySlice<UInt8>) -> (version: Int, seqNo: Int, replaced: Bool) {
            let seqNo = open.state.nextSeqNo
            open.state.nextSeqNo += 1
            var version = 1
            let previous = open.state.live.updateValue(StoredDocument(bytes: bytes, version: 1, seqNo: seqNo), forKey: key)
            if let previous {
                version = previous.version + 1
                open.state.live[key]!.version = version
            }
            if open.state.dirtySince == nil { open.state.dirtySince = configuration.clock.now() }
            if context.keepsRecords { open.records.append(.put(id: id, version: version, seqNo: seqNo, source: bytes)) }
            return (version, seqNo, previous != nil)
        }
        /// Maps `source`'s new fields (or throws `mapper_parsing_exception`).
        func map(_ source: JSONObject) throws(OpenSearchFailure) {
            if let updated = try open.state.mapping.applying(source, id: id) {
                open.state.mapping = updated
                open.fieldsID = ObjectIdentifier(updated.fields)
                context.touchedMeta.insert(name)
            }
        }

        do throws(OpenSearchFailure) {
            switch entry.action {
            case .index, .create:
                let line = Self.trimmed(context.body[entry.document!])
                let fits =
                    if let checked = entry.checked, checked.fields == open.fieldsID { checked.fits } else {
                        line.withUnsafeBufferPointer { DocumentCheck.fits($0, open.state.mapping.fields) }
                    }
                let tree = fits ? nil : try Self.parseDocument(line)
                if entry.action == .create, let existing = open.state.live[key] {
                    throw shardFailure(
                        "version_conflict_engine_exception", "[\(id)]: version conflict, document already exists (current version [\(existing.version)])",
                        status: 409)
                }
                if let tree { try map(tree) }
                let (version, seqNo, replaced) = put(line)
                return replaced ? written(version, .updated, 200, seqNo: seqNo) : written(version, .created, 201, seqNo: seqNo)
            case .update:
                let existing = open.state.live[key]
                let request = try Self.parseDocument(context.body[entry.document!])
                guard let doc = request["doc"]?.objectValue ?? request["upsert"]?.objectValue else {
                    throw OpenSearchFailure.validation(["script or doc is missing"])
                }
                guard let existing, case .object(let current) = existing.source else {
                    let upsert = request["doc_as_upsert"]?.boolValue == true ? doc : request["upsert"]?.objectValue
                    guard let upsert else { throw shardFailure("document_missing_exception", "[\(id)]: document missing", status: 404) }
                    try map(upsert)
                    let seqNo = store(JSON.object(upsert).bytes[...], version: 1)
                    return written(1, .created, 201, seqNo: seqNo)
                }
                let merged = Self.merge(current, doc)
                if merged == current {
                    return .noop(index: open.nameJSON, id: id, version: existing.version, seqNo: existing.seqNo)
                }
                try map(merged)
                let seqNo = store(JSON.object(merged).bytes[...], version: existing.version + 1)
                return written(existing.version + 1, .updated, 200, seqNo: seqNo)
            case .delete:
                let existing = open.state.live[key]
                let seqNo = open.state.nextSeqNo
                open.state.nextSeqNo += 1
                guard let existing else { return written(1, .notFound, 404, seqNo: seqNo) }
                open.state.live[key] = nil
                if open.state.dirtySince == nil { open.state.dirtySince = configuration.clock.now() }
                if context.keepsRecords { open.records.append(.delete(id: id, seqNo: seqNo)) }
                return written(existing.version + 1, .deleted, 200, seqNo: seqNo)
            }
        } catch {
            return .failed(index: name, id: id, failure: error)
        }
    }

    private static func sameBytes(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { a in b.withUTF8 { b in a.count == b.count && (a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0) } }
    }

    /// Bytes written one after another into memory the caller sized.
    private struct StackWriter {
        let base: UnsafeMutablePointer<UInt8>
        var count = 0

        mutating func put(_ byte: UInt8) {
            (base + count).initialize(to: byte)
            count += 1
        }

        mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
            if let source = bytes.baseAddress { (base + count).initialize(from: source, count: bytes.count) }
            count += bytes.count
        }

        mutating func put(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { put($0) } }

        /// A non-negative number in decimal.
        mutating func put(decimal value: Int) {
            var digits = 1
            var rest = value
            while rest >= 10 {
                rest /= 10
                digits += 1
            }
            rest = value
            for position in stride(from: count + digits - 1, through: count, by: -1) {
                (base + position).initialize(to: UInt8(ascii: "0") + UInt8(rest % 10))
                rest /= 10
            }
            count += digits
        }
    }

    /// `line` without the JSON white space around it.
    private static func trimmed(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        var start = line.startIndex
        var end = line.endIndex
        while start < end, isSpace(line[start]) { start += 1 }
        while end > start, isSpace(line[end - 1]) { end -= 1 }
        return line[start..<end]
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
    /// `previousIndex` (the index of the entry before) is reused when the line names the same one.
    static func quick(_ line: UnsafeBufferPointer<UInt8>, defaultIndex: String?, previousIndex: String? = nil) -> BulkEntry? {
        var cursor = Cursor(line: line)
        guard cursor.take(#"{""#) else { return nil }
        let action: BulkEntry.Action
        if cursor.take(#"index":{"#) {
            action = .index
        } else if cursor.take(#"create":{"#) {
            action = .create
        } else if cursor.take(#"update":{"#) {
            action = .update
        } else if cursor.take(#"delete":{"#) {
            action = .delete
        } else {
            return nil
        }
        var index: String?
        var id: String?
        if !cursor.take("}}") {
            repeat {
                if index == nil, cursor.take(#""_index":""#) {
                    guard let text = cursor.plain(reusing: previousIndex) else { return nil }
                    index = text
                } else if id == nil, cursor.take(#""_id":""#) {
                    guard let text = cursor.plain() else { return nil }
                    id = text
                } else {
                    return nil
                }
            } while cursor.take(",")
            guard cursor.take("}}") else { return nil }
        }
        guard cursor.at == line.count else { return nil }
        return BulkEntry(action: action, index: index ?? defaultIndex, id: id)
    }

    private struct Cursor {
        let line: UnsafeBufferPointer<UInt8>
        var at = 0

        /// Passes `literal` if the line continues with it.
        mutating func take(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard line.count - at >= count, memcmp(line.baseAddress! + at, literal.utf8Start, count) == 0 else { return false }
            at += count
            return true
        }

        /// A plain string's text after its opening quote, through the closing quote.
        mutating func plain(reusing known: String? = nil) -> String? {
            guard let base = line.baseAddress, at < line.count, let quote = memchr(base + at, Int32(UInt8(ascii: "\"")), line.count - at) else {
                return nil
            }
            let text = UnsafeBufferPointer(start: base + at, count: base.distance(to: quote.assumingMemoryBound(to: UInt8.self)) - at)
            // Every byte printable ASCII and no backslash, checked without a branch per byte.
            var refused: UInt8 = 0
            for byte in text { refused |= (byte &- 0x20 >= 0x5F ? 1 : 0) | (byte == UInt8(ascii: "\\") ? 1 : 0) }
            guard refused == 0 else { return nil }
            at += text.count + 1
            if var known, known.withUTF8({ $0.count == text.count && memcmp($0.baseAddress!, text.baseAddress!, text.count) == 0 }) { return known }
            return String(decoding: text, as: UTF8.self)
        }
    }
}
