import type { InputHTMLAttributes, Ref, SelectHTMLAttributes, TextareaHTMLAttributes } from "react";

import styles from "./Field.module.css";
import { cx } from "./cx";

type Size = "md" | "lg";

export function Input({
  className,
  inputSize = "md",
  ref,
  ...rest
}: InputHTMLAttributes<HTMLInputElement> & { inputSize?: Size; ref?: Ref<HTMLInputElement> }) {
  return <input ref={ref} className={cx(styles.input, inputSize === "lg" && styles.lg, className)} {...rest} />;
}

export function Textarea({
  className,
  ref,
  ...rest
}: TextareaHTMLAttributes<HTMLTextAreaElement> & { ref?: Ref<HTMLTextAreaElement> }) {
  return <textarea ref={ref} className={cx(styles.textarea, className)} {...rest} />;
}

export function Select({
  className,
  ref,
  ...rest
}: SelectHTMLAttributes<HTMLSelectElement> & { ref?: Ref<HTMLSelectElement> }) {
  return <select ref={ref} className={cx(styles.select, className)} {...rest} />;
}
