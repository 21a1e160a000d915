import AWSCore
package import JSONCodec

/// Which attributes a write returns (`ReturnValues`).
package enum ReturnValues: String, Sendable, Hashable {
    case none = "NONE"
    case allOld = "ALL_OLD"
    case updatedOld = "UPDATED_OLD"
    case allNew = "ALL_NEW"
    case updatedNew = "UPDATED_NEW"
}

/// GetItem: one item by its full key.
package struct GetItemRequest: Sendable, Hashable {
    package var tableName: String
    package var key: Item
    package var consistentRead: Bool
    /// Which attributes to return (`ProjectionExpression`), with `#names` from `attributes`.
    package var projectionExpression: String?
    package var attributes: ExpressionAttributes

    package init(
        tableName: String, key: Item, consistentRead: Bool = false, projectionExpression: String? = nil,
        attributes: ExpressionAttributes = ExpressionAttributes()
    ) {
        self.tableName = tableName
        self.key = key
        self.consistentRead = consistentRead
        self.projectionExpression = projectionExpression
        self.attributes = attributes
    }

    package func body() throws(DynamoDBError) -> JSONObject {
        var body = JSONObject()
        body.append("TableName", .string(tableName))
        body.append("Key", try DynamoDBWire.item(key, name: "Key"))
        if consistentRead { body.append("ConsistentRead", .bool(true)) }
        if let projectionExpression { body.append("ProjectionExpression", .string(projectionExpression)) }
        try DynamoDBWire.add(attributes, to: &body)
        return body
    }
}

/// PutItem: creates or replaces a whole item, optionally only when a condition holds.
package struct PutItemRequest: Sendable, Hashable {
    package var tableName: String
    package var item: Item
    package var conditionExpression: String?
    package var attributes: ExpressionAttributes
    /// `.none` or `.allOld` (the only two PutItem accepts).
    package var returnValues: ReturnValues
    /// Asks for the current item in `DynamoDBError.conditionalCheckFailed(item:)` when the
    /// condition fails (`ReturnValuesOnConditionCheckFailure: ALL_OLD`).
    package var returnOldItemOnConditionFailure: Bool

    package init(
        tableName: String, item: Item, conditionExpression: String? = nil,
        attributes: ExpressionAttributes = ExpressionAttributes(), returnValues: ReturnValues = .none,
        returnOldItemOnConditionFailure: Bool = false
    ) {
        self.tableName = tableName
        self.item = item
        self.conditionExpression = conditionExpression
        self.attributes = attributes
        self.returnValues = returnValues
        self.returnOldItemOnConditionFailure = returnOldItemOnConditionFailure
    }

    package func body(inTransaction: Bool = false) throws(DynamoDBError) -> JSONObject {
        try DynamoDBWire.writeBody(
            operation: "PutItem", table: tableName, itemMember: "Item", item: item, condition: conditionExpression,
            returnOld: returnOldItemOnConditionFailure, attributes: attributes,
            returnValues: inTransaction ? nil : (returnValues, [.none, .allOld]))
    }
}

/// UpdateItem: changes attributes of one item with an update expression (`SET`, `REMOVE`, `ADD`,
/// `DELETE`), creating it if it does not exist, optionally only when a condition holds.
package struct UpdateItemRequest: Sendable, Hashable {
    package var tableName: String
    package var key: Item
    package var updateExpression: String
    package var conditionExpression: String?
    package var attributes: ExpressionAttributes
    package var returnValues: ReturnValues
    package var returnOldItemOnConditionFailure: Bool

    package init(
        tableName: String, key: Item, updateExpression: String, conditionExpression: String? = nil,
        attributes: ExpressionAttributes = ExpressionAttributes(), returnValues: ReturnValues = .none,
        returnOldItemOnConditionFailure: Bool = false
    ) {
        self.tableName = tableName
        self.key = key
        self.updateExpression = updateExpression
        self.conditionExpression = conditionExpression
        self.attributes = attributes
        self.returnValues = returnValues
        self.returnOldItemOnConditionFailure = returnOldItemOnConditionFailure
    }

    package func body(inTransaction: Bool = false) throws(DynamoDBError) -> JSONObject {
        guard !updateExpression.isEmpty else { throw .invalidRequest("UpdateItem on \(tableName): the update expression is empty") }
        return try DynamoDBWire.writeBody(
            operation: "UpdateItem", table: tableName, itemMember: "Key", item: key, update: updateExpression,
            condition: conditionExpression, returnOld: returnOldItemOnConditionFailure, attributes: attributes,
            returnValues: inTransaction ? nil : (returnValues, [.none, .allOld, .updatedOld, .allNew, .updatedNew]))
    }
}

/// DeleteItem: removes one item, optionally only when a condition holds.
package struct DeleteItemRequest: Sendable, Hashable {
    package var tableName: String
    package var key: Item
    package var conditionExpression: String?
    package var attributes: ExpressionAttributes
    /// `.none` or `.allOld`.
    package var returnValues: ReturnValues
    package var returnOldItemOnConditionFailure: Bool

    package init(
        tableName: String, key: Item, conditionExpression: String? = nil,
        attributes: ExpressionAttributes = ExpressionAttributes(), returnValues: ReturnValues = .none,
        returnOldItemOnConditionFailure: Bool = false
    ) {
        self.tableName = tableName
        self.key = key
        self.conditionExpression = conditionExpression
        self.attributes = attributes
        self.returnValues = returnValues
        self.returnOldItemOnConditionFailure = returnOldItemOnConditionFailure
    }

    package func body(inTransaction: Bool = false) throws(DynamoDBError) -> JSONObject {
        try DynamoDBWire.writeBody(
            operation: "DeleteItem", table: tableName, itemMember: "Key", item: key, condition: conditionExpression,
            returnOld: returnOldItemOnConditionFailure, attributes: attributes,
            returnValues: inTransaction ? nil : (returnValues, [.none, .allOld]))
    }
}

/// A condition on an item that a transaction requires without writing it.
package struct ConditionCheckRequest: Sendable, Hashable {
    package var tableName: String
    package var key: Item
    package var conditionExpression: String
    package var attributes: ExpressionAttributes
    package var returnOldItemOnConditionFailure: Bool

    package init(
        tableName: String, key: Item, conditionExpression: String, attributes: ExpressionAttributes = ExpressionAttributes(),
        returnOldItemOnConditionFailure: Bool = false
    ) {
        self.tableName = tableName
        self.key = key
        self.conditionExpression = conditionExpression
        self.attributes = attributes
        self.returnOldItemOnConditionFailure = returnOldItemOnConditionFailure
    }

    package func body() throws(DynamoDBError) -> JSONObject {
        try DynamoDBWire.writeBody(
            operation: "ConditionCheck", table: tableName, itemMember: "Key", item: key, condition: conditionExpression,
            returnOld: returnOldItemOnConditionFailure, attributes: attributes, returnValues: nil)
    }
}

/// One action of a TransactWriteItems call.
package enum TransactWriteItem: Sendable, Hashable {
    case put(PutItemRequest)
    case update(UpdateItemRequest)
    case delete(DeleteItemRequest)
    case conditionCheck(ConditionCheckRequest)

    package func json() throws(DynamoDBError) -> JSON {
        switch self {
        case .put(let request): .object(["Put": .object(try request.body(inTransaction: true))])
        case .update(let request): .object(["Update": .object(try request.body(inTransaction: true))])
        case .delete(let request): .object(["Delete": .object(try request.body(inTransaction: true))])
        case .conditionCheck(let request): .object(["ConditionCheck": .object(try request.body())])
        }
    }
}

/// TransactWriteItems: up to 100 actions on distinct items that all happen or none does.
package struct TransactWriteRequest: Sendable, Hashable {
    package var items: [TransactWriteItem]
    /// Makes the call idempotent for ten minutes: a retry with the same token does not apply the
    /// writes twice. When `nil`, the client makes a random one per call (as boto3 does), so its
    /// own retries are safe.
    package var clientRequestToken: String?

    package init(items: [TransactWriteItem], clientRequestToken: String? = nil) {
        self.items = items
        self.clientRequestToken = clientRequestToken
    }

    package func body() throws(DynamoDBError) -> JSONObject {
        guard !items.isEmpty else { throw .invalidRequest("TransactWriteItems needs at least one action") }
        guard items.count <= 100 else { throw .invalidRequest("TransactWriteItems takes at most 100 actions, got \(items.count)") }
        var actions = [JSON]()
        actions.reserveCapacity(items.count)
        for item in items { actions.append(try item.json()) }
        var body = JSONObject()
        body.append("TransactItems", .array(actions))
        if let clientRequestToken {
            guard (1...36).contains(clientRequestToken.utf8.count) else {
                throw .invalidRequest("a ClientRequestToken has 1 to 36 characters, got \(clientRequestToken.utf8.count)")
            }
            body.append("ClientRequestToken", .string(clientRequestToken))
        }
        return body
    }
}

/// Query: the items of one partition (of the table or of an index), in sort-key order, a page at a time.
package struct QueryRequest: Sendable, Hashable {
    package var tableName: String
    package var indexName: String?
    package var keyConditionExpression: String
    package var filterExpression: String?
    package var projectionExpression: String?
    package var attributes: ExpressionAttributes
    /// Items to evaluate per page (before the filter).
    package var limit: Int?
    /// `false` for descending sort-key order.
    package var scanIndexForward: Bool
    package var consistentRead: Bool
    /// Where to continue: the previous page's `lastEvaluatedKey`.
    package var exclusiveStartKey: Item?

    package init(
        tableName: String, indexName: String? = nil, keyConditionExpression: String, filterExpression: String? = nil,
        projectionExpression: String? = nil, attributes: ExpressionAttributes = ExpressionAttributes(), limit: Int? = nil,
        scanIndexForward: Bool = true, consistentRead: Bool = false, exclusiveStartKey: Item? = nil
    ) {
        self.tableName = tableName
        self.indexName = indexName
        self.keyConditionExpression = keyConditionExpression
        self.filterExpression = filterExpression
        self.projectionExpression = projectionExpression
        self.attributes = attributes
        self.limit = limit
        self.scanIndexForward = scanIndexForward
        self.consistentRead = consistentRead
        self.exclusiveStartKey = exclusiveStartKey
    }

    package func body() throws(DynamoDBError) -> JSONObject {
        var body = JSONObject()
        body.append("TableName", .string(tableName))
        if let indexName { body.append("IndexName", .string(indexName)) }
        body.append("KeyConditionExpression", .string(keyConditionExpression))
        if let filterExpression { body.append("FilterExpression", .string(filterExpression)) }
        if let projectionExpression { body.append("ProjectionExpression", .string(projectionExpression)) }
        try DynamoDBWire.add(attributes, to: &body)
        if let limit {
            guard limit >= 1 else { throw .invalidRequest("Query on \(tableName): Limit must be at least 1, got \(limit)") }
            body.append("Limit", .number(limit))
        }
        if !scanIndexForward { body.append("ScanIndexForward", .bool(false)) }
        if consistentRead { body.append("ConsistentRead", .bool(true)) }
        if let exclusiveStartKey { body.append("ExclusiveStartKey", try DynamoDBWire.item(exclusiveStartKey, name: "ExclusiveStartKey")) }
        return body
    }
}

/// One page of a Query.
package struct QueryPage: Sendable, Hashable {
    package var items: [Item]
    /// Where the next page starts; `nil` on the last page.
    package var lastEvaluatedKey: Item?
    /// Items returned (after the filter).
    package var count: Int
    /// Items evaluated (before the filter).
    package var scannedCount: Int

    package init(items: [Item], lastEvaluatedKey: Item?, count: Int, scannedCount: Int) {
        self.items = items
        self.lastEvaluatedKey = lastEvaluatedKey
        self.count = count
        self.scannedCount = scannedCount
    }
}

/// Shared pieces of the DynamoDB wire format.
enum DynamoDBWire {
    /// An item's JSON, after checking it holds nothing DynamoDB would reject.
    static func item(_ item: Item, name: String) throws(DynamoDBError) -> JSON {
        for key in item.keys.sorted() {
            if let problem = item[key]!.problem(at: "\(name).\(key)") { throw .invalidRequest(problem) }
        }
        return AttributeValue.json(item)
    }

    /// The body of a write (PutItem, UpdateItem, DeleteItem, or a transaction's ConditionCheck).
    /// - Parameter returnValues: what to return and what the operation allows; `nil` in a transaction.
    static func writeBody(
        operation: String, table: String, itemMember: String, item: Item, update: String? = nil, condition: String?,
        returnOld: Bool, attributes: ExpressionAttributes, returnValues: (ReturnValues, allowed: [ReturnValues])?
    ) throws(DynamoDBError) -> JSONObject {
        var body = JSONObject()
        body.append("TableName", .string(table))
        body.append(itemMember, try self.item(item, name: itemMember))
        if let update { body.append("UpdateExpression", .string(update)) }
        if let condition {
            body.append("ConditionExpression", .string(condition))
            if returnOld { body.append("ReturnValuesOnConditionCheckFailure", .string("ALL_OLD")) }
        }
        try add(attributes, to: &body)
        if let (value, allowed) = returnValues, value != .none {
            guard allowed.contains(value) else { throw .invalidRequest("\(operation) does not accept ReturnValues \(value.rawValue)") }
            body.append("ReturnValues", .string(value.rawValue))
        }
        return body
    }

    static func add(_ attributes: ExpressionAttributes, to body: inout JSONObject) throws(DynamoDBError) {
        if !attributes.names.isEmpty {
            var names = JSONObject()
            for key in attributes.names.keys.sorted() {
                guard key.hasPrefix("#") else { throw .invalidRequest("expression attribute name placeholder '\(key)' must start with #") }
                names.append(key, .string(attributes.names[key]!))
            }
            body.append("ExpressionAttributeNames", .object(names))
        }
        if !attributes.values.isEmpty {
            for key in attributes.values.keys where !key.hasPrefix(":") {
                throw .invalidRequest("expression attribute value placeholder '\(key)' must start with :")
            }
            body.append("ExpressionAttributeValues", try item(attributes.values, name: "ExpressionAttributeValues"))
        }
    }

    /// Reads an optional item member of a response.
    static func item(in object: JSONObject, _ member: String, operation: String) throws(DynamoDBError) -> Item? {
        guard let json = object[member], !json.isNull else { return nil }
        do {
            return try AttributeValue.item(json: json, path: member)
        } catch {
            throw .aws(.invalidResponse("DynamoDB \(operation): \(error)"))
        }
    }
}
