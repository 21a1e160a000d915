package import AWSCore
import JSONCodec
import Primitives

/// DynamoDB over the JSON 1.0 protocol (`X-Amz-Target: DynamoDB_20120810.<Op>`), on an
/// `AWSClient` for `.dynamoDB` (signing, endpoint, standard retries). A value, cheap to copy.
///
/// Every call throws `DynamoDBError`: `.conditionalCheckFailed(item:)` and
/// `.transactionCanceled(reasons:)` for the outcomes callers branch on, `.aws` for the rest.
package struct DynamoDBClient: AWSServiceClient {
    package let json: AWSJSONService

    package static let service = AWSService.dynamoDB

    package init(client: AWSClient) {
        Self.requireService(of: client)
        json = AWSJSONService(client: client, targetPrefix: "DynamoDB_20120810", jsonVersion: "1.0", displayName: "DynamoDB")
    }

    private func call(_ operation: String, _ body: JSONObject) async throws(DynamoDBError) -> JSONObject {
        do {
            return try await json.call(operation, body)
        } catch {
            throw DynamoDBError.from(error)
        }
    }

    // MARK: Items

    /// GetItem: the item with `request.key`, or `nil` when there is none.
    package func getItem(_ request: GetItemRequest) async throws(DynamoDBError) -> Item? {
        let response = try await call("GetItem", try request.body())
        return try DynamoDBWire.item(in: response, "Item", operation: "GetItem")
    }

    /// GetItem by key.
    package func getItem(table: String, key: Item, consistentRead: Bool = false) async throws(DynamoDBError) -> Item? {
        try await getItem(GetItemRequest(tableName: table, key: key, consistentRead: consistentRead))
    }

    /// PutItem. Returns the replaced item when `returnValues` is `.allOld` and there was one.
    /// - Throws: `DynamoDBError.conditionalCheckFailed(item:)` when the condition does not hold.
    @discardableResult
    package func putItem(_ request: PutItemRequest) async throws(DynamoDBError) -> Item? {
        let response = try await call("PutItem", try request.body())
        return try DynamoDBWire.item(in: response, "Attributes", operation: "PutItem")
    }

    /// UpdateItem. Returns the attributes `returnValues` asks for (`nil` for `.none`).
    /// - Throws: `DynamoDBError.conditionalCheckFailed(item:)` when the condition does not hold.
    @discardableResult
    package func updateItem(_ request: UpdateItemRequest) async throws(DynamoDBError) -> Item? {
        let response = try await call("UpdateItem", try request.body())
        return try DynamoDBWire.item(in: response, "Attributes", operation: "UpdateItem")
    }

    /// DeleteItem. Returns the deleted item when `returnValues` is `.allOld` and there was one.
    /// - Throws: `DynamoDBError.conditionalCheckFailed(item:)` when the condition does not hold.
    @discardableResult
    package func deleteItem(_ request: DeleteItemRequest) async throws(DynamoDBError) -> Item? {
        let response = try await call("DeleteItem", try request.body())
        return try DynamoDBWire.item(in: response, "Attributes", operation: "DeleteItem")
    }

    // MARK: Query

    /// One page of a Query; continue with `lastEvaluatedKey` as the next `exclusiveStartKey`.
    package func query(_ request: QueryRequest) async throws(DynamoDBError) -> QueryPage {
        let response = try await call("Query", try request.body())
        var items = [Item]()
        if let array = response["Items"]?.arrayValue {
            items.reserveCapacity(array.count)
            for (index, element) in array.enumerated() {
                do {
                    items.append(try AttributeValue.item(json: element, path: "Items[\(index)]"))
                } catch {
                    throw .aws(.invalidResponse("DynamoDB Query: \(error)"))
                }
            }
        }
        return QueryPage(
            items: items,
            lastEvaluatedKey: try DynamoDBWire.item(in: response, "LastEvaluatedKey", operation: "Query"),
            count: response["Count"]?.intValue ?? items.count,
            scannedCount: response["ScannedCount"]?.intValue ?? items.count)
    }

    /// Every item the query matches, walking the pages from `request.exclusiveStartKey` on.
    /// - Parameter maxPages: stop after this many pages (a guard against runaway reads).
    package func queryAll(_ request: QueryRequest, maxPages: Int = .max) async throws(DynamoDBError) -> [Item] {
        var request = request
        var items = [Item]()
        var pages = 0
        while pages < maxPages {
            let page = try await query(request)
            pages += 1
            items.append(contentsOf: page.items)
            guard let next = page.lastEvaluatedKey else { break }
            request.exclusiveStartKey = next
        }
        return items
    }

    // MARK: Transactions

    /// TransactWriteItems: all the actions happen or none does.
    /// - Throws: `DynamoDBError.transactionCanceled(reasons:)` with one reason per action, in order.
    package func transactWriteItems(_ request: TransactWriteRequest) async throws(DynamoDBError) {
        var request = request
        if request.clientRequestToken == nil { request.clientRequestToken = IdempotencyToken.random() }
        _ = try await call("TransactWriteItems", try request.body())
    }

    // MARK: Tables

    /// CreateTable.
    @discardableResult
    package func createTable(_ request: CreateTableRequest) async throws(DynamoDBError) -> TableDescription {
        let response = try await call("CreateTable", try request.body())
        return try TableDescription(json: response["TableDescription"] ?? .null, operation: "CreateTable")
    }

    /// DescribeTable.
    /// - Throws: `.aws` with code `ResourceNotFoundException` when there is no such table.
    package func describeTable(_ name: String) async throws(DynamoDBError) -> TableDescription {
        let response = try await call("DescribeTable", ["TableName": .string(name)])
        return try TableDescription(json: response["Table"] ?? .null, operation: "DescribeTable")
    }

    /// DeleteTable.
    @discardableResult
    package func deleteTable(_ name: String) async throws(DynamoDBError) -> TableDescription {
        let response = try await call("DeleteTable", ["TableName": .string(name)])
        return try TableDescription(json: response["TableDescription"] ?? .null, operation: "DeleteTable")
    }

    /// Polls DescribeTable until the table and its indexes are `ACTIVE`.
    /// - Throws: `.timedOut` naming the last status when `attempts` polls did not see it active.
    package func waitUntilActive(
        _ name: String, attempts: Int = 60, interval: Duration = .seconds(1)
    ) async throws(DynamoDBError) -> TableDescription {
        var last = "unknown"
        for attempt in 0..<max(attempts, 1) {
            if attempt > 0 {
                do { try await Task.sleep(for: interval) } catch { break }
            }
            let table = try await describeTable(name)
            if table.status == "ACTIVE", table.globalSecondaryIndexes.allSatisfy({ ($0.status ?? "ACTIVE") == "ACTIVE" }) {
                return table
            }
            last = table.status
        }
        throw .timedOut("table \(name) did not become ACTIVE after \(attempts) polls (last status \(last))")
    }

    /// UpdateTimeToLive: items expire once the number (epoch seconds) in `attribute` has passed.
    package func updateTimeToLive(table: String, attribute: String, enabled: Bool = true) async throws(DynamoDBError) {
        _ = try await call(
            "UpdateTimeToLive",
            [
                "TableName": .string(table),
                "TimeToLiveSpecification": .object(["AttributeName": .string(attribute), "Enabled": .bool(enabled)]),
            ])
    }

    /// DescribeTimeToLive.
    package func describeTimeToLive(table: String) async throws(DynamoDBError) -> TimeToLiveDescription {
        let response = try await call("DescribeTimeToLive", ["TableName": .string(table)])
        guard let description = response["TimeToLiveDescription"], let status = description["TimeToLiveStatus"]?.stringValue
        else {
            throw .aws(.invalidResponse("DynamoDB DescribeTimeToLive: no TimeToLiveStatus in the response"))
        }
        return TimeToLiveDescription(status: status, attributeName: description["AttributeName"]?.stringValue)
    }
}

/// Random version-4 UUIDs for idempotency tokens, without Foundation.
package enum IdempotencyToken {
    package static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = Array(Hex.encode(bytes).utf8)
        var out = [UInt8]()
        out.reserveCapacity(36)
        for (index, char) in hex.enumerated() {
            if index == 8 || index == 12 || index == 16 || index == 20 { out.append(UInt8(ascii: "-")) }
            out.append(char)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
