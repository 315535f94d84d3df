import { useMutation } from "@tanstack/react-query";
import { Camera, Trash2 } from "lucide-react";

import type { ScreenshotPreview } from "../../bindings/ScreenshotPreview";
import { Button } from "../../components/Button";
import { errorMessage } from "../../lib/errors";
import { formatBytes } from "../../lib/format";
import { captureScreenshot, discardScreenshot } from "../../ipc";
import styles from "./ScreenshotAttachment.module.css";

/** "Add screenshot" → a preview the user keeps or removes; only a kept one is sent. */
export function ScreenshotAttachment({
  screenshot,
  onChange,
}: {
  screenshot: ScreenshotPreview | null;
  onChange: (screenshot: ScreenshotPreview | null) => void;
}) {
  const capture = useMutation({ mutationFn: captureScreenshot, onSuccess: onChange });

  const remove = () => {
    if (!screenshot) return;
    // The app forgets it either way; a failed discard only leaves a temp file behind.
    void discardScreenshot(screenshot.id).catch(() => undefined);
    onChange(null);
  };

  if (screenshot) {
    return (
      <div className={styles.preview}>
        <img className={styles.thumb} src={screenshot.dataUrl} alt="Preview of the screenshot that will be attached" />
        <div className={styles.text}>
          <span className={styles.name}>Screenshot attached</span>
          <span className={styles.meta}>
            {screenshot.width} × {screenshot.height} · {formatBytes(screenshot.sizeBytes)}
          </span>
        </div>
        <Button variant="ghost" size="sm" icon={Trash2} onClick={remove}>
          Remove
        </Button>
      </div>
    );
  }

  return (
    <div className={styles.wrap}>
      <div>
        <Button icon={Camera} loading={capture.isPending} onClick={() => capture.mutate()}>
          Add screenshot
        </Button>
      </div>
      {capture.isError && (
        <div className={styles.error} role="alert">
          The screenshot couldn't be taken. {errorMessage(capture.error)}
        </div>
      )}
    </div>
  );
}
