package dev.paypipe.interop;

import java.util.List;

/** The event a Spring order service publishes: our order.completed schema's field names. */
public record OrderCompleted(String orderId, String userId, List<Item> items, long totalAmount, String currency,
		String fulfilment, String paymentId, String completedAt) {

	public record Item(String productId, int quantity, long unitPrice) {
	}

}
