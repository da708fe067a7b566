// JSON columns are text in the store (portable across SQLite and PostgreSQL). Each repository
// declares its columns' types with jsonColumn<T>() and decodes and encodes them there, once: callers
// get typed values and never parse a row's text themselves.

export interface JsonColumn<T> {
  /** The column's value; text that is empty, null or not JSON decodes to the fallback (or throws without one). */
  decode(text: string | null | undefined): T;
  encode(value: T): string;
}

/** A JSON column of type T. With a fallback, a missing or unreadable value is the fallback. */
export function jsonColumn<T>(fallback?: { value: T }): JsonColumn<T> {
  return {
    decode(text) {
      if (!fallback) return JSON.parse(text ?? '') as T;
      if (!text) return fallback.value;
      try {
        return (JSON.parse(text) as T | null) ?? fallback.value;
      } catch {
        return fallback.value;
      }
    },
    encode: (value) => JSON.stringify(value),
  };
}
