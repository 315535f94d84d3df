import { Save } from "lucide-react";
import { useEffect, useState } from "react";

import { Button } from "../../components/Button";
import { Dialog } from "../../components/Dialog";
import { Field } from "../../components/Field";
import { Input } from "../../components/Input";

export function SaveViewDialog({
  open,
  onOpenChange,
  onSave,
  existingNames,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  onSave: (name: string) => void;
  existingNames: string[];
}) {
  const [name, setName] = useState("");
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    if (open) {
      setName("");
      setError(undefined);
    }
  }, [open]);

  const save = () => {
    const trimmed = name.trim();
    if (!trimmed) return setError("Give the view a name.");
    if (trimmed.length > 40) return setError("Keep the name to 40 characters or fewer.");
    if (existingNames.some((existing) => existing.toLowerCase() === trimmed.toLowerCase()))
      return setError("You already have a view with that name.");
    onSave(trimmed);
    onOpenChange(false);
  };

  return (
    <Dialog
      open={open}
      onOpenChange={onOpenChange}
      title="Save view"
      description="Keeps the current filters and search in the sidebar, on this computer."
      footer={
        <>
          <Button onClick={() => onOpenChange(false)}>Cancel</Button>
          <Button variant="primary" icon={Save} onClick={save}>
            Save view
          </Button>
        </>
      }
    >
      <form
        onSubmit={(event) => {
          event.preventDefault();
          save();
        }}
      >
        <Field label="View name" error={error}>
          <Input autoFocus value={name} placeholder="Printers on floor 2" onChange={(event) => setName(event.target.value)} />
        </Field>
      </form>
    </Dialog>
  );
}
